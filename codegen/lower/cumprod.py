"""TE compute for cumprod: a sequential running product along the axis (hand-written TIR: a scan),
one parallel task per line, multiplying in x's dtype like the reference."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from .reduction import scan_ir
from .registry import lowering


@lowering("cumprod", rule="opaque")
def _cumprod(ins, attrs, out_types):
    (x,) = ins
    axis = norm_axis(attrs["axis"], len(x.shape))
    if any(int(d) == 0 for d in x.shape):
        return te.compute(x.shape, lambda *i: tirx.const(1, x.dtype), name="cumprod")
    scan = lambda ins_, outs: scan_ir(ins_[0], outs[0], axis, attrs["exclusive"], attrs["reverse"],
                                      combine=lambda a, b: a * b, identity=1)
    return te.extern([x.shape], [x], scan, dtype=str(x.dtype), name="cumprod")
