"""Activation and clamping ATen ops."""

from __future__ import annotations

from torch.ops import aten

from .context import Ctx, is_tensor
from .registry import converts


@converts(aten.relu)
def relu(cx: Ctx, x):
    if not x.type.dtype.is_float:
        return cx.op("maximum", x, cx.like(0, x))
    return cx.op("relu", x)


@converts(aten.gelu)
def gelu(cx: Ctx, x, *, approximate="none"):
    return cx.op("gelu", x, approximate=approximate)


@converts(aten.leaky_relu)
def leaky_relu(cx: Ctx, x, negative_slope=0.01):
    return cx.op("leaky_relu", x, alpha=float(negative_slope))


@converts(aten.hardtanh)
def hardtanh(cx: Ctx, x, min_val=-1.0, max_val=1.0):
    if (min_val, max_val) == (0, 6):
        return cx.op("relu6", x)
    return cx.op("hardtanh", x, min_val=float(min_val), max_val=float(max_val))


@converts(aten.elu)
def elu(cx: Ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
    """scale * elu(input_scale * x, alpha), built from the IR's elu with the scales around it."""
    if input_scale != 1:
        x = cx.op("mul", x, cx.like(input_scale, x))
    y = cx.op("elu", x, alpha=float(alpha))
    return y if scale == 1 else cx.op("mul", y, cx.like(scale, y))


@converts(aten.clamp)
def clamp(cx: Ctx, x, lo=None, hi=None):
    """clip for float bounds; maximum/minimum for tensor bounds or integer tensors."""
    dt = cx.out_dtype()
    x = cx.cast(x, dt)
    if not is_tensor(lo) and not is_tensor(hi) and dt.is_float:
        return cx.op("clip", x, min=lo, max=hi)
    if lo is not None:
        x = cx.op("maximum", x, cx.tensor(lo, dt))
    if hi is not None:
        x = cx.op("minimum", x, cx.tensor(hi, dt))
    return x
