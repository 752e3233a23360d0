"""Quantization: QuantizeLinear and DequantizeLinear (per tensor, per axis, blocked), and
onnxruntime's QLinearAdd and MatMulNBits (as a quant_dense over repacked codes)."""

from __future__ import annotations

import numpy as np

from ...ir.quantization import QuantizedWeight, WeightScheme, add_params, pack
from .context import sanitize
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


@converter("QLinearAdd", domain="com.microsoft")
def qlinear_add(n: NodeView):
    """onnxruntime's quantized Add (its QOperator quantizer writes it): dequantize both, add, quantize."""
    a = n.op("dequantize_linear", *[x for x in n.inputs()[0:3] if x is not None])
    b = n.op("dequantize_linear", *[x for x in n.inputs()[3:6] if x is not None])
    out = [x for x in n.inputs()[6:8] if x is not None]
    return n.op("quantize_linear", n.op("add", a, b), *out)


@converter("MatMulNBits", domain="com.microsoft")
def matmul_nbits(n: NodeView):
    """onnxruntime's block-quantized MatMul (B is [N, blocks, bytes] of little-endian packed codes,
    w = (code - zero point) * scale): repacked at import into a #quant weight and a quant_dense."""
    k, nout, bits, block = n.attr("K"), n.attr("N"), n.attr("bits", 4), n.attr("block_size")
    if bits not in (2, 4, 8) or n.has(4) or k % block or block % 8:
        n.fail(f"supported: bits 2/4/8, no g_idx, K ({k}) a multiple of block_size ({block}) and of 8 "
               f"(got bits={bits}{', g_idx' if n.has(4) else ''})")
    if n.type(0).dtype.name != "f32":
        n.fail(f"input A must be f32, got {n.type(0).dtype}")
    blocks = k // block
    codes = _unpack_bytes(n.const(1).reshape(nout, -1), bits)[:, :k]
    scales = n.const(2).astype(np.float32).reshape(nout, blocks)
    zero = _zero_points(n, nout, blocks, bits)
    q = QuantizedWeight(pack(codes.astype(np.uint32), bits), scales, (-zero * scales).astype(np.float32),
                        WeightScheme(bits, block), k)
    params = add_params(n.ctx.module, sanitize(n.proto.input[1]), q)
    bias = [n.input(5)] if n.has(5) else []
    return n.op("quant_dense", n.input(0), *params, *bias, bits=bits, group=block)


def _unpack_bytes(b: np.ndarray, bits: int) -> np.ndarray:
    """[rows, bytes] uint8 -> [rows, bytes * 8 / bits] codes, lowest bits first."""
    shifts = np.arange(0, 8, bits, dtype=np.uint8)
    return ((b[..., None] >> shifts) & ((1 << bits) - 1)).reshape(b.shape[0], -1)


def _zero_points(n: NodeView, nout: int, blocks: int, bits: int) -> np.ndarray:
    """[N, blocks] float zero points: packed uint8 codes, floats, or the default 2**(bits - 1)."""
    if not n.has(3):
        return np.full((nout, blocks), 2 ** (bits - 1), np.float32)
    z = n.const(3)
    if z.dtype != np.uint8:
        return z.astype(np.float32).reshape(nout, blocks)
    return _unpack_bytes(z.reshape(nout, -1), bits)[:, :blocks].astype(np.float32)
