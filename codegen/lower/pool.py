"""TE computes for max_pool / avg_pool (1-3 spatial dims) and the global pools.

A window pool is a `pad` block (filled with the max identity, or zeros for sums; it also covers
ceil_mode's overhang) and a reduction over the kernel axes; avg_pool divides by a per-window count
computed from the geometry, so nothing counts elements at run time."""

from __future__ import annotations

from functools import reduce

from tvm import te, tirx

from ...ir.layouts import channel_block
from ...ir.ops.pool import _geometry
from .conv import pad_block, window_read
from .layouts import BLOCKED_VIEW, blocked_view
from .linalg import acc_dtype, finish, widen
from .registry import lowering

# The first step of a separable window reduction is named after the pool with this suffix.
ROWS_SUFFIX = "_rows"
# A pool over channel blocks (NCHW8c in and out) is named after the pool with this suffix.
BLOCKS_SUFFIX = "_blocks"


def _setup(x, attrs):
    """Geometry (strides, pads, dilations, counts) and the ceil_mode overhang past the end padding."""
    sizes = [int(d) for d in x.shape[2:]]
    ks = attrs["kernel_shape"]
    strides, pads, dil, counts = _geometry(sizes, ks, attrs["strides"], attrs["pads"], attrs.get("dilations"),
                                           attrs["ceil_mode"])
    n = len(ks)
    need = [(c - 1) * s + d * (k - 1) + 1 for c, s, d, k in zip(counts, strides, dil, ks)]
    extra = [max(0, w - (size + pads[i] + pads[i + n])) for i, (w, size) in enumerate(zip(need, sizes))]
    return sizes, ks, strides, pads, [e + pads[i + n] for i, e in enumerate(extra)], dil


def _window_reduce(xp, ks, strides, dil, out_shape, combine, name):
    """Max or sum over each window; windows of 2+ dims go in two steps (both reductions are
    separable): first over all but the last axis, for every column (contiguous vectors), then along
    the rows of that, where a strided window reads far fewer elements."""
    outer = [te.reduce_axis((0, k), f"rk{i}") for i, k in enumerate(ks[:-1])]
    last = te.reduce_axis((0, ks[-1]), "rk_last")
    src = xp
    if outer:
        src = te.compute([*out_shape[:-1], xp.shape[-1]], lambda n, c, *i: combine(window_read(
            xp, n, c, [*i[:-1], i[-1]], [*outer, 0], [*strides[:-1], 1], [*dil[:-1], 1]), axis=outer),
            name=name + ROWS_SUFFIX)
    return te.compute(out_shape, lambda n, c, *o: combine(src[(n, c, *o[:-1], o[-1] * strides[-1] + last * dil[-1])],
                                                          axis=[last]), name=name)


def _blocked_source(x: te.Tensor, out_type):
    """The [N, C/b, H, W, b] placeholder behind x when x and the result are both channel-blocked:
    the pool then runs on the blocks, a vector of b channels per position."""
    b = channel_block(out_type.layout)
    if b is None or getattr(x.op, "name", None) != BLOCKED_VIEW:
        return None, None
    return x.op.input_tensors[0], b


def _blocked_window_reduce(xb, b: int, before, after, value, ks, strides, dil, out_shape, combine, name):
    """Over [N, C/b, H, W, b]: the window reduced for each vector of b channels, as [N, C/b, Ho, Wo, b]."""
    taps = [te.reduce_axis((0, k), f"rk{i}") for i, k in enumerate(ks)]
    n, c, *outs = out_shape
    sizes = [int(d) for d in xb.shape[2:-1]]

    def read(nn, cb, o, lane):
        # no padded copy: a tap outside the input reads the pad value, one condition per vector
        pos = [oi * s + t * d - p for oi, s, t, d, p in zip(o, strides, taps, dil, before)]
        inside = tirx.all(*(tirx.all(q >= 0, q < size) for q, size in zip(pos, sizes)))
        return tirx.if_then_else(inside, xb[(nn, cb, *pos, lane)], tirx.const(value, str(xb.dtype)))

    return te.compute((n, c // b, *outs, b), lambda nn, cb, *o: combine(read(nn, cb, o[:-1], o[-1]), axis=taps),
                      name=name + BLOCKS_SUFFIX)


@lowering("max_pool", rule="pool")
def _max_pool(ins, attrs, out_types):
    (x,) = ins
    sizes, ks, strides, pads, after, dil = _setup(x, attrs)
    dt = str(x.dtype)
    lowest, out_shape = tirx.min_value(dt).value, list(out_types[0].shape)
    xb, b = _blocked_source(x, out_types[0])
    if xb is not None:
        return blocked_view(_blocked_window_reduce(xb, b, pads[:len(ks)], after, lowest, ks, strides, dil,
                                                   out_shape, te.max, "max_pool"), out_types[0].layout)
    xp = pad_block(x, pads[:len(ks)], after, lowest)
    return _window_reduce(xp, ks, strides, dil, out_shape, te.max, "max_pool")


@lowering("avg_pool", rule="pool")
def _avg_pool(ins, attrs, out_types):
    (x,) = ins
    sizes, ks, strides, pads, after, dil = _setup(x, attrs)
    n, dt = len(ks), str(x.dtype)
    acc = acc_dtype(dt)
    before, out_shape = pads[:n], list(out_types[0].shape)
    # Real elements, or real and pad ones with count_include_pad; ceil_mode's overhang never counts.
    lo = [-b if attrs["count_include_pad"] else 0 for b in before]
    hi = [d + (e if attrs["count_include_pad"] else 0) for d, e in zip(sizes, pads[n:])]

    def count(o):
        spans = [tirx.min(oi * s - b + k, h) - tirx.max(oi * s - b, lw)
                 for oi, s, b, k, lw, h in zip(o, strides, before, ks, lo, hi)]
        return reduce(lambda a, b: a * b, spans).astype(acc)

    xb, b = _blocked_source(x, out_types[0])
    if xb is not None and acc == dt:
        sums = _blocked_window_reduce(xb, b, before, after, 0, ks, strides, dil, out_shape, te.sum, "avg_pool_sum")
        y = te.compute(sums.shape, lambda nn, c, *o: sums[(nn, c, *o)] / count(o[:-1]), name="avg_pool")
        return blocked_view(y, out_types[0].layout)  # logical NCHW: the kernel's store inlines it away
    xp = pad_block(x, before, after, 0)
    xw = te.compute(xp.shape, lambda *i: widen(xp(*i), acc), name="pool_widen") if acc != dt else xp
    sums = _window_reduce(xw, ks, strides, dil, out_shape, te.sum, "avg_pool_sum")
    y = te.compute(sums.shape, lambda nn, c, *o: sums[(nn, c, *o)] / count(o), name="avg_pool")
    return finish(y, dt)


def _global(ins, out_types, combine, mean: bool):
    (x,) = ins
    dt = str(x.dtype)
    acc = acc_dtype(dt) if mean else dt
    axes = [te.reduce_axis((0, int(d)), f"r{i}") for i, d in enumerate(x.shape[2:])]
    y = te.compute(list(out_types[0].shape), lambda n, c, *_: combine(widen(x[(n, c, *axes)], acc), axis=axes),
                   name="global_pool")
    if mean:
        count = tirx.const(reduce(lambda a, b: a * b, [int(d) for d in x.shape[2:]]), acc)
        y = te.compute(y.shape, lambda *i: y(*i) / count, name="global_mean")
    return finish(y, dt)


lowering("global_avg_pool", rule="reduce")(lambda ins, attrs, out_types: _global(ins, out_types, te.sum, True))
lowering("global_max_pool", rule="reduce")(lambda ins, attrs, out_types: _global(ins, out_types, te.max, False))
