"""Copies, casts and runtime assertions: mostly no IR at all."""

from __future__ import annotations

from torch.ops import aten

from .context import Ctx
from .registry import converts


@converts(aten.clone, aten.alias)
def passthrough(cx: Ctx, x, *args, **kwargs):
    """Values are immutable in the IR, so a copy is the value itself."""
    return x


@converts(aten._to_copy)
def to_copy(cx: Ctx, x, *, dtype=None, **_):
    return cx.cast(x, cx.out_dtype())


@converts(aten.copy)
def copy(cx: Ctx, dst, src, non_blocking=False):
    """dst's shape and dtype, src's values (broadcast)."""
    y = cx.cast(src, dst.type.dtype)
    if y.type.shape == dst.type.shape:
        return y
    return cx.op("expand", y, shape=cx.static(dst.type.shape, "copy destination shape"))


@converts(aten._assert_tensor_metadata, aten._assert_async)
def assertion(cx: Ctx, *args, **kwargs):
    """Checks torch made at trace time; nothing to compute."""
    return None
