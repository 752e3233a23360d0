"""Indexing: Gather, GatherElements, GatherND, ScatterElements/Scatter, ScatterND, OneHot,
Trilu, Compress."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter


@converter("Gather")
def gather(n: NodeView):
    return n.op("gather", n.input(0), n.input(1), axis=n.attr("axis", 0))


@converter("GatherElements")
def gather_elements(n: NodeView):
    return n.op("gather_elements", n.input(0), n.input(1), axis=n.attr("axis", 0))


@converter("GatherND")
def gather_nd(n: NodeView):
    return n.op("gather_nd", n.input(0), n.input(1), batch_dims=n.attr("batch_dims", 0))


@converter("ScatterElements", "Scatter")
def scatter_elements(n: NodeView):
    return n.op("scatter_elements", n.input(0), n.input(1), n.input(2), axis=n.attr("axis", 0),
                reduction=n.attr("reduction", "none"))


@converter("ScatterND")
def scatter_nd(n: NodeView):
    return n.op("scatter_nd", n.input(0), n.input(1), n.input(2), reduction=n.attr("reduction", "none"))


@converter("OneHot")
def one_hot(n: NodeView):
    depth = n.const(1).reshape(-1)[0]
    indices = n.input(0)
    if not n.type(0).dtype.is_int:  # ONNX accepts float indices; they are truncated
        indices = n.op("cast", indices, dtype="i64")
    return n.op("one_hot", indices, n.input(2), depth=int(depth), axis=n.attr("axis", -1))


@converter("Trilu")
def trilu(n: NodeView):
    k = n.const(1)
    return n.op("trilu", n.input(0), upper=bool(n.attr("upper", 1)), k=0 if k is None else int(k.reshape(-1)[0]))


@converter("Compress")
def compress(n: NodeView):
    """A gather of the selected positions; the condition must be known at import time."""
    cond = n.const(1).astype(bool).reshape(-1)
    axis = n.attr("axis")
    x = n.input(0) if axis is not None else n.op("reshape", n.input(0), shape=[-1])
    dim = n.shape(0)[axis] if axis is not None else int(np.prod(n.static_shape(0)))
    picked = np.nonzero(cond[:dim] if isinstance(dim, int) else cond)[0].astype(np.int64)
    return n.op("gather", x, picked, axis=0 if axis is None else axis)


@converter("ReverseSequence")
def reverse_sequence(n: NodeView):
    return n.op("reverse_sequence", n.input(0), n.input(1), batch_axis=n.attr("batch_axis", 1),
                time_axis=n.attr("time_axis", 0))


@converter("TensorScatter", since=24)
def tensor_scatter(n: NodeView):
    """Write update into the cache along axis at each batch entry's write index (a KV-cache
    update), as a scatter_elements with indices write_index + 0..len-1 (mod the cache length)."""
    cache, update = n.static_shape(0), n.static_shape(1)
    rank, axis = len(cache), n.attr("axis", -2) % len(cache)
    steps = np.arange(update[axis], dtype=np.int64)
    pos = steps[None, :] if not n.has(2) else n.op("add", n.op("reshape", n.op("cast", n.input(2), dtype="i64"),
                                                                shape=[-1, 1]), steps[None, :])
    if n.attr("mode", "linear") == "circular":
        pos = n.op("floor_mod", pos, np.array(cache[axis], np.int64))
    layout = [-1 if i == 0 else update[axis] if i == axis else 1 for i in range(rank)]
    indices = n.op("expand", n.op("reshape", pos, shape=layout), shape=update)
    return n.op("scatter_elements", n.input(0), indices, n.input(1), axis=axis)
