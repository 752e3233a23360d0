"""Indexing: embedding, index_select, gather, advanced indexing (index.Tensor), scatters and
slice/select scatters."""

from __future__ import annotations

import numpy as np
from torch.ops import aten

from ...ir.types import i64
from .context import Ctx, is_tensor
from .registry import converts
from .shape import END, bound


@converts(aten.embedding)
def embedding(cx: Ctx, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return cx.op("gather", weight, indices, axis=0)


@converts(aten.index_select)
def index_select(cx: Ctx, x, dim, index):
    return cx.op("gather", x, index, axis=dim)


@converts(aten.gather)
def gather(cx: Ctx, x, dim, index, *, sparse_grad=False):
    return cx.op("gather_elements", x, index, axis=dim)


def _index_tensors(cx: Ctx, x, indices) -> tuple[int, list]:
    """(first indexed dim, index tensors) for indices that are adjacent; others are unsupported."""
    used = [i for i, t in enumerate(indices) if t is not None]
    if used != list(range(used[0], used[-1] + 1)):
        cx.fail("advanced indexing with index tensors on non-adjacent dims is not supported")
    tensors = [indices[i] for i in used]
    if any(t.type.dtype.kind == "bool" for t in tensors):
        cx.fail("boolean-mask indexing has a data-dependent shape and is not supported")
    return used[0], tensors


def flat_index(cx: Ctx, x, first: int, tensors):
    """One i64 index into the flattened dims first..first+k-1: sum of wrapped index * stride."""
    dims = cx.static(x.type.shape[first:first + len(tensors)], "indexed dims")
    strides = [int(np.prod(dims[i + 1:])) for i in range(len(dims))]
    total = None
    for t, d, s in zip(tensors, dims, strides):
        t = cx.cast(t, i64)
        t = cx.op("mod", t, cx.const(d, i64))  # wraps negative indices (floor mod)
        term = t if s == 1 else cx.op("mul", t, cx.const(s, i64))
        total = term if total is None else cx.op("add", total, term)
    return total, int(np.prod(dims))


@converts(aten.index)
def index(cx: Ctx, x, indices):
    """x[..., i0, i1, ...] with adjacent index tensors: flatten those dims, then one gather."""
    first, tensors = _index_tensors(cx, x, indices)
    if len(tensors) == 1:
        return cx.op("gather", x, tensors[0], axis=first)
    idx, n = flat_index(cx, x, first, tensors)
    rest = cx.static(x.type.shape[first + len(tensors):], "trailing dims")
    lead = [0] * first
    flat = cx.op("reshape", x, shape=lead + [n] + rest)
    return cx.op("gather", flat, idx, axis=first)


@converts(aten.index_put)
def index_put(cx: Ctx, x, indices, values, accumulate=False):
    """x[i0, i1, ...] = values for index tensors on the leading dims, as one scatter_nd."""
    first, tensors = _index_tensors(cx, x, indices)
    if first != 0:
        cx.fail("index_put on non-leading dims is not supported")
    idx, _ = flat_index(cx, x, 0, tensors)
    k, shape = len(tensors), cx.static(x.type.shape, "index_put target shape")
    flat = cx.op("reshape", x, shape=[int(np.prod(shape[:k]))] + shape[k:])
    target = cx.static(idx.type.shape, "index shape") + shape[k:]
    vals = cx.op("expand", cx.cast(values, x.type.dtype), shape=target)
    out = cx.op("scatter_nd", flat, cx.op("unsqueeze", idx, axes=[-1]), vals,
                reduction="add" if accumulate else "none")
    return cx.op("reshape", out, shape=shape)


def _src(cx: Ctx, src, index, dt):
    """scatter's source as a tensor of index's shape (torch reads only that corner of a larger src)."""
    if is_tensor(src):
        if src.type.shape != index.type.shape:
            ends = cx.static(index.type.shape, "scatter index shape")
            src = cx.op("slice", src, starts=[0] * len(ends), ends=ends)
        return cx.cast(src, dt)
    return cx.const(np.full(cx.static(index.type.shape, "scatter index shape"), src), dt, "scatter_value")


@converts(aten.scatter)
def scatter(cx: Ctx, x, dim, index, src, *, reduce=None):
    reduction = {None: "none", "add": "add", "multiply": "mul"}[reduce]
    return cx.op("scatter_elements", x, index, _src(cx, src, index, x.type.dtype), axis=dim, reduction=reduction)


@converts(aten.scatter_add)
def scatter_add(cx: Ctx, x, dim, index, src):
    return cx.op("scatter_elements", x, index, src, axis=dim, reduction="add")


@converts(aten.scatter_reduce)
def scatter_reduce(cx: Ctx, x, dim, index, src, reduce, *, include_self=True):
    ops = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}
    if reduce not in ops or not include_self:
        cx.fail(f"scatter_reduce with reduce={reduce!r}, include_self={include_self} is not supported")
    return cx.op("scatter_elements", x, index, src, axis=dim, reduction=ops[reduce])


@converts(aten.slice_scatter)
def slice_scatter(cx: Ctx, x, src, dim=0, start=None, end=None, step=1):
    """x with x[start:end] along dim replaced by src: concat of the kept parts and src."""
    if step != 1:
        cx.fail("slice_scatter with a step other than 1 is not supported")
    n = cx.static([x.type.shape[dim]], "slice_scatter dim")[0]
    start, end = bound(cx, x, dim, start, 0), bound(cx, x, dim, end, END)
    start, end = (min(max(b + n if b < 0 else b, 0), n) for b in (start, end))
    parts = []
    if start > 0:
        parts.append(cx.op("slice", x, starts=[0], ends=[start], axes=[dim]))
    parts.append(cx.cast(src, x.type.dtype))
    if end < n:
        parts.append(cx.op("slice", x, starts=[end], ends=[n], axes=[dim]))
    return parts[0] if len(parts) == 1 else cx.op("concat", *parts, axis=dim)
