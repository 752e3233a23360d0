"""TE compute for bitcast: the same bits read as another dtype of the same byte width."""

from __future__ import annotations

from tvm import te, tirx, topi

from ..dtypes import tvm_dtype
from .registry import lowering


@lowering("bitcast")
def _bitcast(ins, attrs, out_types):
    (x,) = ins
    src, dst = str(x.dtype), tvm_dtype(out_types[0].dtype)
    if "bool" not in (src, dst):
        return topi.reinterpret(x, dst)
    # A bool is one bit in TIR but a whole byte in memory: a byte is true when non-zero, a true is 1.
    if dst == "bool":
        return te.compute(x.shape, lambda *i: x(*i) != tirx.const(0, src), name="bitcast")
    return te.compute(x.shape, lambda *i: x(*i).astype(dst), name="bitcast")
