"""Quantization: QuantizeLinear and DequantizeLinear (per tensor, per axis, blocked)."""

from __future__ import annotations

from .node import NodeView
from .registry import converter


@converter("QuantizeLinear", since=10)
def quantize_linear(n: NodeView):
    dt = n.dtype_attr("output_dtype") if n.attr("output_dtype", 0) else None
    operands = [x for x in n.inputs()[:3] if x is not None]
    return n.op("quantize_linear", *operands, axis=n.attr("axis", 1), block_size=n.attr("block_size", 0),
                dtype=dt, saturate=bool(n.attr("saturate", 1)))


@converter("DequantizeLinear", since=10)
def dequantize_linear(n: NodeView):
    operands = [x for x in n.inputs()[:3] if x is not None]
    y = n.op("dequantize_linear", *operands, axis=n.attr("axis", 1), block_size=n.attr("block_size", 0))
    if n.attr("output_dtype", 0):
        y = n.op("cast", y, dtype=n.dtype_attr("output_dtype"))
    return y
