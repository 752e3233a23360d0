"""encode-quantized-weights: a matmul, dense or plain gemm whose weight is dequantize_linear of constant
8- or 4-bit integer codes (QDQ models from onnxruntime's quantize_static, QLinearMatMul) becomes a
quant_dense over those codes, typed #quant: the weight stays low-bit in memory and the kernel
dequantizes it in registers, where constant folding would have made it a float32 weight.

Runs first in the -O pipelines, before canonicalize folds the dequantization away.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Function, Module, Node, Param
from ..ir.ops.quant import broadcast_params
from ..ir.quantization import QuantizedWeight, WeightScheme, add_params, pack
from .manager import register_pass

# codes' dtype -> (bits, shift that makes them unsigned)
_CODES = {"i8": (8, 128), "u8": (8, 0), "i4": (4, 8), "u4": (4, 0)}


@register_pass("encode-quantized-weights")
def encode_quantized_weights(module: Module) -> Module:
    """Weights that are dequantize_linear(constant int8/uint8/int4/uint4 codes) become quant_dense."""
    for func in module.functions.values():
        _encode(module, func)
    return module


def _encode(module: Module, func: Function) -> None:
    producers = {id(r): node for node in func.nodes for r in node.results}
    for node in func.nodes:
        layout = _weight_layout(node)
        dq = producers.get(id(node.operands[1])) if layout else None
        q = _quantized(dq, layout) if dq is not None and dq.op == "dequantize_linear" else None
        if q is None:
            continue
        bias = node.operands[2:3]
        node.operands = [node.operands[0], *add_params(module, dq.operands[0].name, q), *bias]
        node.op, node.attrs = "quant_dense", {"bits": q.scheme.bits, "group": q.scheme.group, "act_bits": 0}


def _weight_layout(node: Node) -> str | None:
    """'nk' or 'kn': how the node's second operand holds the [outputs, inputs] weight; None if it is not
    a plain linear layer over a float32 input (with at most a per-output bias)."""
    if len(node.operands) < 2 or node.operands[0].type.dtype.name != "f32" or node.operands[1].type.rank != 2:
        return None
    if node.op == "dense":
        return "nk"
    if node.op == "matmul":
        return "kn" if len(node.operands) == 2 else None
    if node.op == "gemm":
        a, c = node.attrs, node.operands[2] if len(node.operands) > 2 else None
        plain = a["alpha"] == 1.0 and not a["trans_a"] and (c is None or a["beta"] == 1.0)
        if plain and (c is None or c.type.shape == node.results[0].type.shape[-1:]):
            return "nk" if a["trans_b"] else "kn"
    return None


def _constant(v) -> np.ndarray | None:
    return np.asarray(v.data) if isinstance(v, Param) and v.data is not None else None


def _quantized(dq: Node, layout: str) -> QuantizedWeight | None:
    """The dequantization as codes, scales and offsets per output row and group of inputs, if its codes,
    scale and zero point are constants and the scale is constant within groups quant_dense supports."""
    codes, scale = _constant(dq.operands[0]), _constant(dq.operands[1])
    zero = _constant(dq.operands[2]) if len(dq.operands) > 2 else np.zeros(np.shape(scale), np.int64)
    kind = _CODES.get(dq.operands[0].type.dtype.name)
    if codes is None or scale is None or zero is None or kind is None or dq.operands[1].type.dtype.name != "f32":
        return None
    bits, shift = kind
    axis, block = dq.attrs["axis"], dq.attrs["block_size"]
    s = np.broadcast_to(broadcast_params(scale.astype(np.float32), codes.shape, axis, block), codes.shape)
    z = np.broadcast_to(broadcast_params(zero.astype(np.int64), codes.shape, axis, block), codes.shape)
    c = codes.astype(np.int64)
    if layout == "kn":
        s, z, c = s.T, z.T, c.T
    k = c.shape[1]
    if _constant_within(s, z, k):  # per tensor or per output channel: one group per row
        group = 0
    else:  # blocked along the inputs: the largest run of them that shares a scale
        group = next((g for g in range(k - k % 8, 7, -8) if k % g == 0 and _constant_within(s, z, g)), None)
        if group is None:
            return None
    g = group or k
    scales = np.ascontiguousarray(s[:, ::g], np.float32)
    offsets = (-(z[:, ::g] + shift) * scales.astype(np.float64)).astype(np.float32)
    return QuantizedWeight(pack((c + shift).astype(np.uint32), bits), scales, offsets, WeightScheme(bits, group), k)


def _constant_within(s: np.ndarray, z: np.ndarray, g: int) -> bool:
    """Whether scale and zero point are constant over each run of g inputs of a row."""
    n, k = s.shape
    return all((a.reshape(n, k // g, g) == a.reshape(n, k // g, g)[..., :1]).all() for a in (s, z))
