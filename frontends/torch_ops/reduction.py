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
    """any: max over the truth values (torch spells all() as not any(not x))."""

    def convert(cx: Ctx, x, dim=None, keepdim=False):
        return cx.op(name, truthy(cx, x), axes=axes_of(dim), keepdims=bool(keepdim))

    return convert


converts(aten.any)(_logical_reduce("max"))


def _correction(unbiased, correction) -> float:
    """var.dim passes `unbiased`, var.correction passes `correction` (default 1)."""
    if isinstance(unbiased, bool):
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def _variance(cx: Ctx, x, dim, correction, keepdim):
    """(sum((x - mean)^2) / (N - correction), mean), both reduced over dim."""
    axes = axes_of(dim)
    n = 1
    for a in range(x.type.rank) if axes is None else axes:
        n *= cx.static([x.type.shape[a]], "reduced dims of var")[0]
    mean = cx.op("mean", x, axes=axes, keepdims=True)
    centered = cx.op("sub", x, mean)
    total = cx.op("sum", cx.op("mul", centered, centered), axes=axes, keepdims=bool(keepdim))
    var = cx.op("div", total, cx.like(max(n - correction, 0), total))
    return var, mean if keepdim else cx.op("mean", x, axes=axes, keepdims=False)


@converts(aten.var)
def var(cx: Ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _variance(cx, x, dim, _correction(unbiased, correction), keepdim)[0]


@converts(aten.var_mean)
def var_mean(cx: Ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _variance(cx, x, dim, _correction(unbiased, correction), keepdim)


@converts(aten.linalg_vector_norm)
def vector_norm(cx: Ctx, x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The p-norm over dim: l2_norm for p=2, max/min |x| for +-inf, else sum(|x|^p)^(1/p)."""
    x = cx.cast(x, cx.out_dtype())
    attrs = dict(axes=axes_of(dim), keepdims=bool(keepdim))
    if ord == 2:
        return cx.op("l2_norm", x, **attrs)
    a = cx.op("abs", x)
    if ord in (float("inf"), float("-inf")):
        return cx.op("max" if ord > 0 else "min", a, **attrs)
    if ord == 0:
        return cx.op("sum", cx.cast(cx.op("not_equal", x, cx.like(0, x)), x.type.dtype), **attrs)
    if ord == 1:
        return cx.op("sum", a, **attrs)
    total = cx.op("sum", cx.op("pow", a, cx.like(ord, a)), **attrs)
    return cx.op("pow", total, cx.like(1.0 / ord, total))


def _max_min(reduce: str, arg: str):
    """max/min: all elements (.default), or values and indices along dim (.dim)."""

    def convert(cx: Ctx, x, dim=None, keepdim=False):
        if dim is None:
            return cx.op(reduce, x)
        values = cx.op(reduce, x, axes=[dim], keepdims=bool(keepdim))
        return values, cx.op(arg, x, axis=dim, keepdims=bool(keepdim))

    return convert


converts(aten.max)(_max_min("max", "argmax"))
converts(aten.min)(_max_min("min", "argmin"))


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


@converts(aten.topk)
def topk(cx: Ctx, x, k, dim=-1, largest=True, sorted=True):
    return cx.op("topk", x, k=int(k), axis=dim, largest=bool(largest))


@converts(aten.sort)
def sort(cx: Ctx, x, dim=-1, descending=False):
    """A full-length top-k: both order ties by original index, as torch's stable sort does."""
    n = cx.static([x.type.shape[dim]], "sorted dim")[0]
    if x.type.dtype == boolean:
        cx.fail("sorting bool tensors is not supported")
    return cx.op("topk", x, k=n, axis=dim, largest=bool(descending))
