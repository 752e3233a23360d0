"""Tensor factories: full, full_like, scalar_tensor, arange, empty. Static ones are constants."""

from __future__ import annotations

import numpy as np
from torch.ops import aten

from ...ir.types import boolean
from .context import Ctx
from .registry import converts


@converts(aten.full)
def full(cx: Ctx, size, fill_value, **_):
    return cx.const(np.full(cx.static(size, "full size"), fill_value), cx.out_dtype(), "full")


@converts(aten.scalar_tensor)
def scalar_tensor(cx: Ctx, value, **_):
    return cx.const(value, cx.out_dtype(), "scalar")


@converts(aten.empty, aten.empty_strided, aten.empty_permuted)
def empty(cx: Ctx, size, *args, **_):
    """Uninitialized memory in torch; zeros here, so results are at least deterministic."""
    return cx.const(np.zeros(cx.static(size, "empty size")), cx.out_dtype(), "empty")


def filled_like(cx: Ctx, x, value):
    """A tensor of x's shape filled with value; for a symbolic shape, broadcast through where."""
    dt = cx.out_dtype()
    shape = cx.shape()
    if all(isinstance(d, int) for d in shape):
        return cx.const(np.full(shape, value), dt, "full")
    all_true = cx.op("equal", x, x) if not x.type.dtype.is_float else \
        cx.op("logical_or", cx.op("equal", x, x), cx.op("is_nan", x))
    v = cx.tensor(value, dt)
    return cx.op("where", all_true, v, v)


@converts(aten.full_like)
def full_like(cx: Ctx, x, fill_value, **_):
    return filled_like(cx, x, fill_value)


@converts(aten.arange)
def arange(cx: Ctx, *args, **_):
    """arange(end), arange(start, end) or arange(start, end, step); bounds must be static."""
    start, end, step = {1: (0, args[0], 1), 2: (*args, 1), 3: args}[len(args)]
    bounds = [cx.dim(b) if not isinstance(b, float) else b for b in (start, end, step)]
    if any(b is None or isinstance(b, str) for b in bounds):
        cx.fail(f"arange with symbolic bounds {bounds} is not supported")
    dt = cx.out_dtype()
    if dt == boolean:
        cx.fail("arange of bools is not supported")
    return cx.op("arange", start=float(bounds[0]), limit=float(bounds[1]), delta=float(bounds[2]), dtype=dt)
