"""Reductions, arg-reductions, softmax, cumsum, top-k and sort."""

from __future__ import annotations

from torch.ops import aten

from ...ir.types import boolean
from .context import Ctx
from .elementwise import truthy
from .registry import converts


def axes_of(dim) -> list[int] | None:
    """torch's dim argument as IR axes: None or [] mean every axis."""
    if dim is None:
        return None
    dims = [dim] if isinstance(dim, int) else list(dim)
    return dims or None


def _reduce(name: str):
    def convert(cx: Ctx, x, dim=None, keepdim=False, *, dtype=None):
        x = cx.cast(x, cx.out_dtype())
        return cx.op(name, x, axes=axes_of(dim), keepdims=bool(keepdim))

    return convert


converts(aten.sum)(_reduce("sum"))
converts(aten.mean)(_reduce("mean"))
converts(aten.amax)(_reduce("max"))
converts(aten.amin)(_reduce("min"))


@converts(aten.prod)
def prod(cx: Ctx, x, dim=None, keepdim=False, *, dtype=None):
    x = cx.cast(x, cx.out_dtype())
    return cx.op("prod", x, axes=None if dim is None else [dim], keepdims=bool(keepdim))


def _logical_reduce(name: str):
    """any / all: max / min over the truth values."""

    def convert(cx: Ctx, x, dim=None, keepdim=False):
        return cx.op(name, truthy(cx, x), axes=axes_of(dim), keepdims=bool(keepdim))

    return convert


converts(aten.any)(_logical_reduce("max"))
converts(aten.all)(_logical_reduce("min"))


@converts(aten.var)
def var(cx: Ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """sum((x - mean)^2) / (N - correction) over dims; var.dim passes `unbiased` instead."""
    if isinstance(unbiased, bool):
        correction = 1 if unbiased else 0
    correction = 1 if correction is None else correction
    axes = axes_of(dim)
    rank = x.type.rank
    n = 1
    for a in range(rank) if axes is None else axes:
        n *= cx.static([x.type.shape[a]], "reduced dims of var")[0]
    centered = cx.op("sub", x, cx.op("mean", x, axes=axes, keepdims=True))
    total = cx.op("sum", cx.op("mul", centered, centered), axes=axes, keepdims=bool(keepdim))
    return cx.op("div", total, cx.like(max(n - correction, 0), total))


def _max_min(reduce: str, arg: str, pairwise: str):
    """max/min: all elements (.default), values and indices along dim (.dim), or elementwise (.other)."""

    def convert(cx: Ctx, x, dim=None, keepdim=False):
        if cx.overload == "other":
            return cx.op(pairwise, x, cx.cast(dim, x.type.dtype))
        if dim is None:
            return cx.op(reduce, x)
        values = cx.op(reduce, x, axes=[dim], keepdims=bool(keepdim))
        return values, cx.op(arg, x, axis=dim, keepdims=bool(keepdim))

    return convert


converts(aten.max)(_max_min("max", "argmax", "maximum"))
converts(aten.min)(_max_min("min", "argmin", "minimum"))


def _arg(name: str):
    def convert(cx: Ctx, x, dim=None, keepdim=False):
        if dim is not None:
            return cx.op(name, x, axis=dim, keepdims=bool(keepdim))
        flat = cx.op("reshape", x, shape=[-1])
        out = cx.op(name, flat, axis=0, keepdims=False)
        return cx.op("reshape", out, shape=[1] * x.type.rank) if keepdim else out

    return convert


converts(aten.argmax)(_arg("argmax"))
converts(aten.argmin)(_arg("argmin"))


@converts(aten.cumsum)
def cumsum(cx: Ctx, x, dim, *, dtype=None):
    return cx.op("cumsum", cx.cast(x, cx.out_dtype()), axis=dim)


@converts(aten._softmax)
def softmax(cx: Ctx, x, dim, half_to_float=False):
    return cx.op("softmax", cx.cast(x, cx.out_dtype()), axis=dim)


@converts(aten._log_softmax)
def log_softmax(cx: Ctx, x, dim, half_to_float=False):
    return cx.op("log_softmax", cx.cast(x, cx.out_dtype()), axis=dim)


@converts(aten.logsumexp)
def logsumexp(cx: Ctx, x, dim, keepdim=False):
    return cx.op("log_sum_exp", cx.cast(x, cx.out_dtype()), axes=axes_of(dim), keepdims=bool(keepdim))


@converts(aten.topk)
def topk(cx: Ctx, x, k, dim=-1, largest=True, sorted=True):
    return cx.op("topk", x, k=int(k), axis=dim, largest=bool(largest))


@converts(aten.sort)
def sort(cx: Ctx, x, *args, **kwargs):
    """A full-length top-k: both order ties by original index, as torch's stable sort does."""
    if cx.overload == "stable":
        dim, descending = kwargs.get("dim", -1), kwargs.get("descending", False)
    else:
        dim, descending = (list(args) + [-1, False][len(args):])[:2]
    n = cx.static([x.type.shape[dim]], "sorted dim")[0]
    if x.type.dtype == boolean:
        cx.fail("sorting bool tensors is not supported")
    return cx.op("topk", x, k=n, axis=dim, largest=bool(descending))
