"""Normalization: layer norm, inference batch norm and group norm (mean/rstd results unsupported)."""

from __future__ import annotations

import numpy as np
from torch.ops import aten

from .context import Ctx
from .registry import converts


def _or_const(cx: Ctx, p, fill: float, n, like):
    """A missing affine param (affine=False) as a constant of `fill`s."""
    if p is not None:
        return p
    return cx.const(np.full(cx.static([n], "normalized size"), fill), like.type.dtype, "norm_fill")


@converts(aten.native_layer_norm)
def layer_norm(cx: Ctx, x, normalized_shape, weight, bias, eps):
    """Normalizes the trailing len(normalized_shape) dims; only the first result is supported."""
    if weight is None and bias is not None:
        weight = cx.const(np.ones(cx.static(normalized_shape, "normalized shape")), x.type.dtype, "norm_fill")
    operands = [v for v in (weight, bias) if v is not None]
    y = cx.op("layer_norm", x, *operands, axis=-len(normalized_shape), epsilon=float(eps))
    return y, None, None


@converts(aten._native_batch_norm_legit_no_training)
def batch_norm(cx: Ctx, x, weight, bias, mean, var, momentum, eps):
    c = x.type.shape[1]
    weight, bias = _or_const(cx, weight, 1.0, c, x), _or_const(cx, bias, 0.0, c, x)
    return cx.op("batch_norm", x, weight, bias, mean, var, epsilon=float(eps)), None, None


@converts(aten._native_batch_norm_legit)
def batch_norm_batch_stats(cx: Ctx, x, weight, bias, *args):
    """Training-mode batch norm (and instance norm, which torch routes here): statistics of this
    batch over every axis but the channels; the running-stat updates are not part of the result."""
    eps = args[-1]
    axes = [0, *range(2, x.type.rank)]
    centered = cx.op("sub", x, cx.op("mean", x, axes=axes, keepdims=True))
    var = cx.op("mean", cx.op("mul", centered, centered), axes=axes, keepdims=True)
    y = cx.op("mul", centered, cx.op("rsqrt", cx.op("add", var, cx.like(eps, var))))
    per_channel = [-1] + [1] * (x.type.rank - 2)
    if weight is not None:
        y = cx.op("mul", y, cx.op("reshape", weight, shape=per_channel))
    if bias is not None:
        y = cx.op("add", y, cx.op("reshape", bias, shape=per_channel))
    return y, None, None


@converts(aten.native_group_norm)
def group_norm(cx: Ctx, x, weight, bias, n, c, hw, group, eps):
    c = x.type.shape[1]
    weight, bias = _or_const(cx, weight, 1.0, c, x), _or_const(cx, bias, 0.0, c, x)
    return cx.op("group_norm", x, weight, bias, num_groups=int(group), epsilon=float(eps)), None, None
