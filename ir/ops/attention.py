"""Attention: scaled_dot_product_attention with torch.nn.functional semantics."""

from __future__ import annotations

import math

import numpy as np

from ..types import boolean
from .linalg import same_dim, size_or_one
from .numerics import upcast
from .registry import OPAQUE, Attr, op
from .shape_utils import broadcast_shapes, fail, need_float, out_type, same_dtype


@op("scaled_dot_product_attention", operands="q, k, v, mask?", fusion=OPAQUE,
    attrs={"scale": Attr("float", None), "is_causal": Attr("bool", False)})
class ScaledDotProductAttention:
    """softmax(q @ k^T * scale + mask) @ v over [..., L, E], [..., S, E], [..., S, Ev]; a bool
    mask keeps where True, a float mask is added; scale defaults to 1/sqrt(E)."""

    @staticmethod
    def infer(q, k, v, mask=None, *, scale, is_causal):
        need_float(q, "q")
        same_dtype(q, k, v)
        if min(q.rank, k.rank, v.rank) < 2:
            fail("q, k and v must have rank >= 2")
        same_dim(q.shape[-1], k.shape[-1], "q and k head dims differ")
        same_dim(k.shape[-2], v.shape[-2], "k and v sequence lengths differ")
        batch = broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        if mask is not None:
            if is_causal:
                fail("an explicit mask cannot be combined with is_causal")
            if mask.dtype != boolean:
                same_dtype(q, mask)
            broadcast_shapes(mask.shape, (*batch, q.shape[-2], k.shape[-2]))
        return out_type(q, (*batch, q.shape[-2], v.shape[-1]))

    @staticmethod
    def reference(q, k, v, mask=None, *, scale, is_causal):
        scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
        scores = upcast(q) @ np.swapaxes(upcast(k), -1, -2) * np.float32(scale)
        if is_causal:  # top-left aligned, as torch: query i sees keys 0..i
            mask = np.tril(np.ones(scores.shape[-2:], bool))
        if mask is not None and mask.dtype == np.bool_:
            scores = np.where(mask, scores, -np.inf)
        elif mask is not None:
            scores = scores + upcast(mask)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return ((scores / scores.sum(axis=-1, keepdims=True)) @ upcast(v)).astype(q.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        """Two matmuls plus about five flops per score for scale, mask and softmax."""
        q, k, v = operand_types[:3]
        scores = result_types[0].numel // max(1, size_or_one(v.shape[-1])) * size_or_one(k.shape[-2])
        return scores * (2 * size_or_one(q.shape[-1]) + 2 * size_or_one(v.shape[-1]) + 5)
