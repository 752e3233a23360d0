"""dft as one extern call into the host FFT (runtime/host_calls.py): an O(n log n) transform in the
precision NumPy's FFT uses for the dtype, rather than an O(n^2) sum of generated code."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from ...runtime.host_calls import DFT
from .registry import lowering


@lowering("dft", rule="opaque")
def _dft(ins, attrs, out_types):
    (x,) = ins
    axis = norm_axis(attrs["axis"], len(x.shape))
    flags = [attrs["length"], int(attrs["inverse"]), int(attrs["onesided"])]
    return te.extern([list(out_types[0].shape)], [x],
                     lambda i, o: tirx.call_packed(DFT, i[0], o[0], axis, *flags),
                     dtype=[str(x.dtype)], name="dft")
