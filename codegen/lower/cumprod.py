"""TE compute for cumprod: a sequential running product along the axis (hand-written TIR: a scan),
one parallel task per line, multiplying in x's dtype like the reference."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from ...ir.ops.shape_utils import norm_axis
from .registry import lowering


def _scan_ir(x, out, axis: int, exclusive: bool, reverse: bool):
    """out[k] = x[0] * ... * x[k] along axis (from the end with reverse; x[k] left out with exclusive)."""
    shape = [int(d) for d in x.shape]
    n, after = shape[axis], math.prod(shape[axis + 1:])
    lines = math.prod(shape[:axis]) * after
    with IRBuilder() as ib:
        src, dst = T.buffer_proxy(x), T.buffer_proxy(out)
        with T.parallel(0, lines) as r:
            base = (r // after) * n * after + r % after
            at = lambda k: base + ((n - 1 - k) if reverse else k) * after
            dst[at(0)] = tirx.const(1, out.dtype) if exclusive else src[at(0)]
            with T.serial(1, n) as k:
                # exclusive shifts by one element instead of dividing, which would round (or hit a 0)
                dst[at(k)] = dst[at(k - 1)] * src[at(k - 1) if exclusive else at(k)]
    return ib.get()


@lowering("cumprod", rule="opaque")
def _cumprod(ins, attrs, out_types):
    (x,) = ins
    axis = norm_axis(attrs["axis"], len(x.shape))
    if any(int(d) == 0 for d in x.shape):
        return te.compute(x.shape, lambda *i: tirx.const(1, x.dtype), name="cumprod")
    scan = lambda ins_, outs: _scan_ir(ins_[0], outs[0], axis, attrs["exclusive"], attrs["reverse"])
    return te.extern([x.shape], [x], scan, dtype=str(x.dtype), name="cumprod")
