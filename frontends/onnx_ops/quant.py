"""Quantization: QuantizeLinear and DequantizeLinear (per tensor, per axis, blocked)."""

from __future__ import annotations

from .node import NodeView
from .registry import converter


def operands(n: NodeView) -> list:
    """x, scale and zero point; a one-element zero point takes the scale's shape (rank 0 or 1)."""
    out = [x for x in n.inputs()[:3] if x is not None]
    if len(out) == 3 and n.shape(2) != n.shape(1) and n.type(2).numel == n.type(1).numel == 1:
        out[2] = n.op("reshape", out[2], shape=list(n.shape(1)))
    return out


@converter("QuantizeLinear", since=10)
def quantize_linear(n: NodeView):
    dt = n.dtype_attr("output_dtype") if n.attr("output_dtype", 0) else None
    return n.op("quantize_linear", *operands(n), axis=n.attr("axis", 1), block_size=n.attr("block_size", 0),
                dtype=dt, saturate=bool(n.attr("saturate", 1)))


@converter("DequantizeLinear", since=10)
def dequantize_linear(n: NodeView):
    y = n.op("dequantize_linear", *operands(n), axis=n.attr("axis", 1), block_size=n.attr("block_size", 0))
    if n.attr("output_dtype", 0):
        y = n.op("cast", y, dtype=n.dtype_attr("output_dtype"))
    return y
