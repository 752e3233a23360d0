"""bcq_dense: dense (x @ w.T + bias) with a binary-coding quantized weight (ir/bcq.py)."""

from __future__ import annotations

import numpy as np

from ..bcq import BCQScheme, bcq_dequantize
from ..encodings import BCQEncoding
from ..quantization import words_per_row
from .linalg import present, same_dim
from .registry import OUT_FUSABLE, REQUIRED, Attr, op
from .shape_utils import fail, need_float, need_rank, out_type


@op("bcq_dense", operands="x, signs, alphas, bias?", fusion=OUT_FUSABLE,
    attrs={"planes": Attr("int", REQUIRED), "group": Attr("int", 0)})
class BCQDense:
    """x @ w.T + bias with w[n, k] = sum_i alphas[n, k // group, i] * (+1 if bit i of (n, k) else -1); the
    sign planes [planes, N, words] are 1-bit codes packed as ir/quantization.pack does."""

    @staticmethod
    def infer(x, signs, alphas, bias=None, *, planes, group):
        BCQScheme(planes, group)  # validates
        need_float(x, "input")
        need_rank(signs, 3, "sign planes")
        need_rank(alphas, 3, "alphas")
        if signs.dtype.name != "u32":
            fail(f"the sign planes must be u32 words, got {signs.dtype}")
        enc = signs.encoding
        if enc is not None and (not isinstance(enc, BCQEncoding) or (enc.planes, enc.group) != (planes, group)):
            fail(f"the sign planes' encoding {enc} does not match planes={planes}, group={group}")
        _check_shapes(x, signs, alphas, planes, group)
        for t in present(alphas, bias):
            if t.dtype != x.dtype:
                fail(f"alphas and bias must be {x.dtype}, got {t.dtype}")
        if bias is not None:
            need_rank(bias, 1, "bias")
            same_dim(bias.shape[0], signs.shape[1], "bias size and weight rows differ")
        return out_type(x, (*x.shape[:-1], signs.shape[1]))

    @staticmethod
    def reference(x, signs, alphas, bias=None, *, planes, group):
        w = bcq_dequantize(signs, alphas, x.shape[-1]).astype(np.float64)
        y = x.astype(np.float64) @ w.T
        return (y if bias is None else y + bias).astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 2 * result_types[0].numel * operand_types[0].shape[-1]


def _check_shapes(x, signs, alphas, planes: int, group: int) -> None:
    n, k = signs.shape[1], x.shape[-1]
    if not isinstance(k, int):
        return
    if k % (group or k):
        fail(f"{k} inputs do not split into groups of {group}")
    if signs.shape != (planes, n, words_per_row(1, k)):
        fail(f"{planes} planes of {n} x {k} bits pack into [{planes}, {n}, {words_per_row(1, k)}] words, "
             f"got {list(signs.shape)}")
    if alphas.shape != (n, k // (group or k), planes):
        fail(f"alphas must be [{n}, {k // (group or k)}, {planes}] (outputs x groups x planes), "
             f"got {list(alphas.shape)}")
