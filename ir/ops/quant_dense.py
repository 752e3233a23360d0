"""quant_dense: dense (x @ w.T + bias) with a weight-only quantized, packed weight (ir/quantization.py)."""

from __future__ import annotations

import numpy as np

from ..encodings import QuantEncoding
from ..quantization import WeightScheme, dequantize, quantize_activations, unpack, words_per_row
from ..types import TensorType
from .linalg import present, same_dim
from .registry import OUT_FUSABLE, REQUIRED, Attr, op
from .shape_utils import fail, need_float, need_rank, out_type


def _check_weight(w: TensorType, scales: TensorType, offsets: TensorType, k, bits: int, group: int) -> None:
    need_rank(w, 2, "packed weight")
    if w.dtype.name != "u32":
        fail(f"the packed weight must be u32 words, got {w.dtype}")
    enc = w.encoding  # absent on a plain array (the attributes say it all); if present, it must agree
    if enc is not None and (not isinstance(enc, QuantEncoding) or (enc.bits, enc.group) != (bits, group)):
        fail(f"the packed weight's encoding {enc} does not match bits={bits}, group={group}")
    if isinstance(k, int):
        words = words_per_row(bits, k)
        same_dim(w.shape[1], words, f"{k} inputs of {bits} bits pack into {words} words")
        groups = k // (group or k)
        for name, t in (("scales", scales), ("offsets", offsets)):
            if t.shape != (w.shape[0], groups):
                fail(f"{name} must be [{w.shape[0]}, {groups}] (outputs x groups), got {list(t.shape)}")


@op("quant_dense", operands="x, w, scales, offsets, bias?", fusion=OUT_FUSABLE,
    attrs={"bits": Attr("int", REQUIRED), "group": Attr("int", 0), "act_bits": Attr("int", 0, (0, 8))})
class QuantDense:
    """x @ dequantize(w).T + bias, where w holds [N, K] codes packed as ir/quantization.pack does and
    w[n, k] = code * scales[n, g] + offsets[n, g] for g = k // group (group 0: the whole row). With
    act_bits 8, the codes multiply x rounded to int8 per group (quantization.quantize_activations)."""

    @staticmethod
    def infer(x, w, scales, offsets, bias=None, *, bits, group, act_bits):
        WeightScheme(bits, group, a8=act_bits == 8)  # validates bits, group and the int8 activations
        need_float(x, "input")
        if x.rank < 1:
            fail("input must have rank >= 1")
        _check_weight(w, scales, offsets, x.shape[-1], bits, group)
        for t in present(scales, offsets, bias):
            if t.dtype != x.dtype:
                fail(f"scales, offsets and bias must be {x.dtype}, got {t.dtype}")
        if bias is not None:
            need_rank(bias, 1, "bias")
            same_dim(bias.shape[0], w.shape[0], "bias size and weight rows differ")
        return out_type(x, (*x.shape[:-1], w.shape[0]))

    @staticmethod
    def reference(x, w, scales, offsets, bias=None, *, bits, group, act_bits):
        if act_bits:
            y = _int8_activations(x, w, scales, offsets, bits, group)
        else:
            y = x.astype(np.float64) @ dequantize(w, scales, offsets, bits, group, x.shape[-1], np.float64).T
        return (y if bias is None else y + bias).astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 2 * result_types[0].numel * operand_types[0].shape[-1]


def _int8_activations(x, w, scales, offsets, bits: int, group: int) -> np.ndarray:
    """sum_g scale_w * scale_x * sum_k code * x_int8 + offset_w * sum_k x: integer products per group."""
    k = x.shape[-1]
    g = group or k
    xq, xs = quantize_activations(x, g)
    codes = unpack(w, bits, k).astype(np.int64).reshape(w.shape[0], k // g, g)
    dots = np.einsum("ngk,...gk->...ng", codes, xq.astype(np.int64).reshape(*x.shape[:-1], k // g, g))
    sums = x.astype(np.float64).reshape(*x.shape[:-1], k // g, g).sum(axis=-1)
    scaled = dots * scales.astype(np.float64) * xs.astype(np.float64)[..., None, :]
    return scaled.sum(axis=-1) + np.einsum("ng,...g->...n", offsets.astype(np.float64), sums)
