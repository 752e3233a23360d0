"""Copies, casts, dropout and runtime assertions: mostly no IR at all."""

from __future__ import annotations

from torch.ops import aten

from .context import Ctx
from .registry import converts


@converts(aten.clone, aten.alias, aten.detach, aten.lift_fresh_copy, aten.contiguous)
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


@converts(aten.native_dropout)
def dropout(cx: Ctx, x, p, train):
    if train:
        cx.fail("dropout in training mode is random; export the model in eval() mode")
    return x, None


@converts(aten._assert_tensor_metadata, aten._assert_scalar, aten.sym_constrain_range_for_size,
          aten.sym_constrain_range, aten._assert_async)
def assertion(cx: Ctx, *args, **kwargs):
    """Checks torch made at trace time; nothing to compute."""
    return None
