"""Pooling on NC[D]HW tensors: max_pool / avg_pool with ONNX MaxPool / AveragePool semantics
(1 to 3 spatial dims, decided by len(kernel_shape)) and the global pools."""

from __future__ import annotations

from functools import partial

import numpy as np

from .conv import check_spatial_attrs, pad_spatial, window_count, windows
from .numerics import upcast
from .registry import OPAQUE, REDUCE, Attr, OpDef, register
from .shape_utils import fail, need_float, need_rank, out_type


def _geometry(shape, kernel_shape, strides, pads, dilations, ceil_mode):
    """Normalized (strides, pads, dilations) and the window count per spatial axis."""
    n = len(kernel_shape)
    strides, dilations = strides or (1,) * n, dilations or (1,) * n
    pads = pads or (0,) * (2 * n)
    check_spatial_attrs(n, kernel_shape=kernel_shape, strides=strides, pads=pads, dilations=dilations)
    if any(p >= k for p, k in zip(pads, kernel_shape * 2)):
        fail(f"pads {list(pads)} must be smaller than the kernel {list(kernel_shape)}")
    counts = [window_count(d, k, s, pads[i], pads[i + n], dl, ceil_mode)
              for i, (d, k, s, dl) in enumerate(zip(shape, kernel_shape, strides, dilations))]
    return strides, pads, dilations, counts


def _pool_infer(x, *, float_only, kernel_shape, strides, pads, ceil_mode, dilations=None, count_include_pad=False):
    need_rank(x, len(kernel_shape) + 2, "input")
    if float_only or not x.dtype.is_int:
        need_float(x, "input")
    counts = _geometry(x.shape[2:], kernel_shape, strides, pads, dilations, ceil_mode)[3]
    return out_type(x, (*x.shape[:2], *counts))


def _windows(x, fill, extra_fill, kernel_shape, strides, pads, dilations, ceil_mode):
    """Windows [N, C, *out, *kernel] over x padded with `fill`; ceil_mode's overhang past the
    end padding is filled with `extra_fill`."""
    strides, pads, dilations, counts = _geometry(x.shape[2:], kernel_shape, strides, pads, dilations, ceil_mode)
    n = len(kernel_shape)
    need = [(c - 1) * s + d * (k - 1) + 1 for c, s, d, k in zip(counts, strides, dilations, kernel_shape)]
    extra = [max(0, w - (size + pads[i] + pads[i + n])) for i, (w, size) in enumerate(zip(need, x.shape[2:]))]
    xp = pad_spatial(pad_spatial(x, pads, fill), [0] * n + extra, extra_fill)
    return windows(xp, kernel_shape, strides, dilations, counts)


def _max_pool(x, *, kernel_shape, strides, pads, dilations, ceil_mode):
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    win = _windows(x, low, low, kernel_shape, strides, pads, dilations, ceil_mode)
    return win.max(axis=tuple(range(-len(kernel_shape), 0)))


def _avg_pool(x, *, kernel_shape, strides, pads, ceil_mode, count_include_pad):
    """Window sums over the count of real (or, with count_include_pad, real or pad) elements;
    the ceil_mode overhang is never counted, as in ONNX Runtime and torch."""
    n, geom = len(kernel_shape), (kernel_shape, strides, pads, None, ceil_mode)
    axes = tuple(range(-n, 0))
    sums = _windows(upcast(x), 0, 0, *geom).sum(axis=axes)
    ones = np.ones((1, 1, *x.shape[2:]), np.float32)
    counts = _windows(ones, float(count_include_pad), 0, *geom).sum(axis=axes)
    return (sums / counts).astype(x.dtype)


def _pool_flops(operand_types, result_types, attrs):
    return result_types[0].numel * int(np.prod(attrs["kernel_shape"]))


_COMMON = {"kernel_shape": Attr("ints"), "strides": Attr("ints", None), "pads": Attr("ints", None),
           "ceil_mode": Attr("bool", False)}
register(OpDef("max_pool", ("x",), {**_COMMON, "dilations": Attr("ints", None)}, OPAQUE,
               partial(_pool_infer, float_only=False), _max_pool, flops=_pool_flops,
               doc="Max over (dilated) windows, like ONNX MaxPool; missing strides/pads/dilations are 1/0/1."))
register(OpDef("avg_pool", ("x",), {**_COMMON, "count_include_pad": Attr("bool", False)}, OPAQUE,
               partial(_pool_infer, float_only=True), _avg_pool, flops=_pool_flops,
               doc="Mean over windows, like ONNX AveragePool; missing strides/pads are 1/0."))


def _global_infer(x):
    if x.rank < 3:
        fail(f"input must have rank >= 3 ([N, C, *spatial]), got {x}")
    return out_type(x, (*x.shape[:2], *[1] * (x.rank - 2)))


def _global(fn, x):
    return fn(upcast(x), axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)


for _name, _fn in {"global_avg_pool": np.mean, "global_max_pool": np.max}.items():
    register(OpDef(_name, ("x",), {}, REDUCE, _global_infer, partial(_global, _fn),
                   flops=lambda operand_types, result_types, attrs: operand_types[0].numel,
                   doc=f"{_fn.__name__} over all spatial dims, kept as size 1, like ONNX Global*Pool."))
