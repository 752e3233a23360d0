"""BitCast: reinterpret a tensor's bits as another dtype of the same width (ONNX BitCast)."""

from __future__ import annotations

from .registry import INJECTIVE, Attr, op
from .shape_utils import fail, out_type


def _sub_byte(dt) -> bool:
    return dt.bits < 8 and dt.kind != "bool"  # bool is stored one per byte


@op("bitcast", operands="x", fusion=INJECTIVE, attrs={"dtype": Attr("dtype")})
class BitCast:
    """The same bytes viewed as dtype; both types must have the same bit width."""

    @staticmethod
    def infer(x, *, dtype):
        if x.dtype.numpy.itemsize != dtype.numpy.itemsize or _sub_byte(x.dtype) or _sub_byte(dtype):
            fail(f"cannot bitcast {x.dtype} to {dtype}: byte widths differ")
        return out_type(x, dt=dtype)

    @staticmethod
    def reference(x, *, dtype):
        return x.view(dtype.numpy)
