"""Index-driven ops: gathers, scatters, one_hot, shape_of, arange and resize (a gather at computed
source indices), plus the dim helpers that transform.py shares."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ...errors import TypeInferenceError
from ..types import Dim, TensorType, f32, i64
from .registry import INJECTIVE, OPAQUE, Attr, op
from .shape_utils import fail, need_float, need_rank, norm_axis, out_type, same_dtype, static_dims


def static_and_symbols(dims) -> tuple[int, Counter]:
    """Product of the static dims and a multiset of the symbolic ones (None counts as a symbol)."""
    return int(np.prod([d for d in dims if isinstance(d, int)], dtype=np.int64)), \
        Counter(d for d in dims if not isinstance(d, int))


def dims_product(dims) -> Dim:
    """Product of dims: static if all are, the lone symbol if the rest multiply to 1, else None."""
    static, symbols = static_and_symbols(dims)
    if not symbols or static == 0:
        return static
    return next(iter(symbols)) if static == 1 and sum(symbols.values()) == 1 else None


def unify_dim(a: Dim, b: Dim) -> Dim:
    """Two dims that must be equal: a static size beats a symbol, a symbol beats None."""
    if isinstance(a, int) and isinstance(b, int) and a != b:
        fail(f"dimensions {a} and {b} differ")
    if isinstance(a, int) or not isinstance(b, int) and a is not None:
        return a
    return b


def unify_shapes(a, b, what: str) -> tuple[Dim, ...]:
    if len(a) != len(b):
        fail(f"{what}: ranks differ ({list(a)} vs {list(b)})")
    try:
        return tuple(unify_dim(p, q) for p, q in zip(a, b))
    except TypeInferenceError:
        fail(f"{what}: shapes {list(a)} and {list(b)} differ")


def axis_of(t: TensorType, axis: int) -> int:
    """The normalized axis of a tensor that must have rank >= 1."""
    if t.rank == 0:
        fail("operand must have rank >= 1")
    return norm_axis(axis, t.rank)


def _need_int(t: TensorType, what: str = "indices") -> None:
    if not t.dtype.is_int:
        fail(f"{what} must be an integer tensor, got {t.dtype}")


def _wrap(indices: np.ndarray, dim: int) -> np.ndarray:
    """Negative indices count from the end, as in ONNX."""
    return np.where(indices < 0, indices + dim, indices)


@op("gather", operands="x, indices", fusion=INJECTIVE, attrs={"axis": Attr("int", 0)})
class Gather:
    """ONNX Gather: slices of x along axis picked by indices (negative counts from the end)."""

    @staticmethod
    def infer(x, indices, *, axis):
        _need_int(indices)
        a = axis_of(x, axis)
        return out_type(x, x.shape[:a] + indices.shape + x.shape[a + 1:])

    @staticmethod
    def reference(x, indices, *, axis):
        return np.take(x, _wrap(indices, x.shape[axis]), axis=axis)


@op("gather_elements", operands="x, indices", fusion=INJECTIVE, attrs={"axis": Attr("int", 0)})
class GatherElements:
    """ONNX GatherElements: out[..i..] = x[..indices[..i..]..] along axis; out has indices' shape."""

    @staticmethod
    def infer(x, indices, *, axis):
        _need_int(indices)
        if indices.rank != x.rank:
            fail(f"indices rank {indices.rank} differs from operand rank {x.rank}")
        axis_of(x, axis)
        return out_type(x, indices.shape)

    @staticmethod
    def reference(x, indices, *, axis):
        a = axis % x.ndim
        # Indices may be shorter than x on the other axes: only that leading block is read.
        crop = tuple(slice(None) if i == a else slice(0, n) for i, n in enumerate(indices.shape))
        return np.take_along_axis(x[crop], _wrap(indices, x.shape[a]), axis=a)


def _nd_index_depth(x: TensorType, indices: TensorType, lead: int) -> int:
    """Checks shared by gather_nd / scatter_nd; returns k, the static last dim of indices."""
    _need_int(indices)
    if indices.rank < 1:
        fail("indices must have rank >= 1")
    k = indices.shape[-1]
    if not isinstance(k, int):
        fail(f"the last dim of indices must be static, got {indices}")
    if lead + k > x.rank or lead >= indices.rank:
        fail(f"indices {indices} with {lead} batch dims do not index operand {x}")
    return k


@op("gather_nd", operands="x, indices", fusion=INJECTIVE, attrs={"batch_dims": Attr("int", 0)})
class GatherND:
    """ONNX GatherND: the last dim of indices addresses x after batch_dims shared leading dims."""

    @staticmethod
    def infer(x, indices, *, batch_dims):
        if batch_dims < 0:
            fail(f"batch_dims must be >= 0, got {batch_dims}")
        k = _nd_index_depth(x, indices, batch_dims)
        unify_shapes(x.shape[:batch_dims], indices.shape[:batch_dims], "batch dims")
        return out_type(x, indices.shape[:-1] + x.shape[batch_dims + k:])

    @staticmethod
    def reference(x, indices, *, batch_dims):
        b, k = batch_dims, indices.shape[-1]
        batch = int(np.prod(x.shape[:b]))
        xs = x.reshape((batch,) + x.shape[b:])
        idx = indices.reshape(batch, int(np.prod(indices.shape[b:-1])), k)
        out = xs[(np.arange(batch)[:, None], *np.moveaxis(idx, -1, 0))]
        return out.reshape(indices.shape[:-1] + x.shape[b + k:])


_REDUCTIONS = ("none", "add", "mul", "max", "min")
_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter(x: np.ndarray, index: tuple, updates: np.ndarray, reduction: str) -> np.ndarray:
    out = x.copy()
    if reduction == "none":
        out[index] = updates  # duplicate indices are unspecified in ONNX, as here
    else:
        _UFUNCS[reduction].at(out, index, updates)  # .at: duplicates accumulate
    return out


@op("scatter_elements", operands="x, indices, updates", fusion=OPAQUE,
    attrs={"axis": Attr("int", 0), "reduction": Attr("str", "none", _REDUCTIONS)})
class ScatterElements:
    """ONNX ScatterElements: x with updates written (or reduced) at indices along axis."""

    @staticmethod
    def infer(x, indices, updates, *, axis, reduction):
        _need_int(indices)
        same_dtype(x, updates)
        if indices.rank != x.rank:
            fail(f"indices rank {indices.rank} differs from operand rank {x.rank}")
        unify_shapes(indices.shape, updates.shape, "indices and updates")
        axis_of(x, axis)
        return out_type(x)

    @staticmethod
    def reference(x, indices, updates, *, axis, reduction):
        a = axis % x.ndim
        index = list(np.indices(indices.shape, sparse=True))
        index[a] = _wrap(indices, x.shape[a])
        return _scatter(x, tuple(index), updates, reduction)


@op("scatter_nd", operands="x, indices, updates", fusion=OPAQUE,
    attrs={"reduction": Attr("str", "none", _REDUCTIONS)})
class ScatterND:
    """ONNX ScatterND: x with updates slices written (or reduced) at the addresses in indices."""

    @staticmethod
    def infer(x, indices, updates, *, reduction):
        same_dtype(x, updates)
        k = _nd_index_depth(x, indices, 0)
        unify_shapes(indices.shape[:-1] + x.shape[k:], updates.shape, "updates")
        return out_type(x)

    @staticmethod
    def reference(x, indices, updates, *, reduction):
        k = indices.shape[-1]
        idx = indices.reshape(-1, k)
        return _scatter(x, tuple(idx.T), updates.reshape((len(idx),) + x.shape[k:]), reduction)


@op("one_hot", operands="indices, values", fusion=OPAQUE,
    attrs={"depth": Attr("int"), "axis": Attr("int", -1)})
class OneHot:
    """ONNX OneHot: values[1] where the new axis equals the index, else values[0]."""

    @staticmethod
    def infer(indices, values, *, depth, axis):
        _need_int(indices)
        need_rank(values, 1, "values")
        if isinstance(values.shape[0], int) and values.shape[0] != 2:
            fail(f"values must hold [off, on], got {values}")
        if depth < 1:
            fail(f"depth must be >= 1, got {depth}")
        shape = list(indices.shape)
        shape.insert(norm_axis(axis, indices.rank + 1), depth)
        return out_type(values, shape)

    @staticmethod
    def reference(indices, values, *, depth, axis):
        hot = _wrap(indices, depth)[..., None] == np.arange(depth)  # out of range: all off
        return np.where(np.moveaxis(hot, -1, axis % (indices.ndim + 1)), values[1], values[0])


@op("shape_of", operands="x", fusion=OPAQUE)
class ShapeOf:
    """The shape of x as a 1-D i64 tensor; x must have static dims."""

    @staticmethod
    def infer(x):
        static_dims(x.shape, "operand shape")
        return TensorType((x.rank,), i64)

    @staticmethod
    def reference(x):
        return np.array(x.shape, dtype=np.int64)


def _arange_len(start: float, limit: float, delta: float) -> int:
    if delta == 0:
        fail("delta must be nonzero")
    return max(int(np.ceil((limit - start) / delta)), 0)


@op("arange", operands="", fusion=INJECTIVE,
    attrs={"start": Attr("float", 0.0), "limit": Attr("float"), "delta": Attr("float", 1.0),
           "dtype": Attr("dtype", f32)})
class Arange:
    """ONNX Range as a constant: start, start + delta, ... up to (excluding) limit."""

    @staticmethod
    def infer(*, start, limit, delta, dtype):
        return TensorType((_arange_len(start, limit, delta),), dtype)

    @staticmethod
    def reference(*, start, limit, delta, dtype):
        return (start + np.arange(_arange_len(start, limit, delta)) * delta).astype(dtype.numpy)


def _source_coords(out_len: int, in_len: int, scale: float, mode: str) -> np.ndarray:
    """ONNX Resize coordinate transform: the input position each output index samples."""
    x = np.arange(out_len, dtype=np.float64)
    if mode == "align_corners":  # ONNX: the resized length is in_len * scale, not the floored size
        resized = in_len * scale
        return x * ((in_len - 1) / (resized - 1)) if out_len > 1 and resized > 1 else x * 0
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    if mode == "pytorch_half_pixel" and out_len <= 1:
        return x * 0
    return (x + 0.5) / scale - 0.5  # half_pixel


def _nearest_index(c: np.ndarray, mode: str, in_len: int) -> np.ndarray:
    """Round source coordinates to input indices with ONNX's nearest_mode, clamped in range."""
    rounded = {"floor": np.floor, "ceil": np.ceil,
               "round_prefer_floor": lambda v: np.ceil(v - 0.5),  # ties go down
               "round_prefer_ceil": lambda v: np.floor(v + 0.5)}[mode](c)
    return np.clip(rounded, 0, in_len - 1).astype(np.int64)


def _interp_taps(c: np.ndarray, mode: str, in_len: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Clamped source indices and weights, both [out, taps], for linear or cubic resize."""
    base = np.floor(c)
    t = (c - base)[:, None]
    offsets = np.arange(2) if mode == "linear" else np.arange(-1, 3)
    d = np.abs(offsets - t)  # distance from each tap
    if mode == "linear":
        w = 1 - d
    else:  # Keys cubic convolution with coefficient a
        w = np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a)
    # Clamping repeats the edge sample, as ONNX's edge padding does.
    return np.clip(base[:, None] + offsets, 0, in_len - 1).astype(np.int64), w


def _resize_dims(shape, sizes, scales) -> list[Dim]:
    if (sizes is None) == (scales is None):
        fail("give exactly one of sizes and scales")
    given = sizes if sizes is not None else scales
    if len(given) != len(shape) or any(v <= 0 for v in given):
        fail(f"{'sizes' if sizes is not None else 'scales'} {list(given)} must give {len(shape)} positive entries")
    if sizes is not None:
        return list(sizes)
    return [d if s == 1 else (int(d * s) if isinstance(d, int) else None) for d, s in zip(shape, scales)]


_COORD_MODES = ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


@op("resize", operands="x", fusion=INJECTIVE,
    attrs={"sizes": Attr("ints", None), "scales": Attr("floats", None),
           "mode": Attr("str", "nearest", ("nearest", "linear", "cubic")),
           "coordinate_transformation_mode": Attr("str", "half_pixel", _COORD_MODES),
           "nearest_mode": Attr("str", "round_prefer_floor", _NEAREST_MODES), "cubic_coeff_a": Attr("float", -0.75)})
class Resize:
    """ONNX Resize to sizes or by scales (size floor(dim * scale)); scale-1 axes are copied as is."""

    @staticmethod
    def infer(x, *, sizes, scales, mode, **_):
        if mode != "nearest":
            need_float(x)
        return out_type(x, _resize_dims(x.shape, sizes, scales))

    @staticmethod
    def reference(x, *, sizes, scales, mode, coordinate_transformation_mode, nearest_mode, cubic_coeff_a):
        y = x if mode == "nearest" else x.astype(np.float64)
        for axis, o in enumerate(_resize_dims(x.shape, sizes, scales)):
            n = x.shape[axis]
            scale = o / n if scales is None else scales[axis]
            if o == n and scale == 1:
                continue
            c = _source_coords(o, n, scale, coordinate_transformation_mode)
            if mode == "nearest":
                y = np.take(y, _nearest_index(c, nearest_mode, n), axis=axis)
                continue
            idx, w = _interp_taps(c, mode, n, cubic_coeff_a)
            taps = np.take(y, idx, axis=axis)  # the axis becomes [out, taps]
            y = (taps * w.reshape(w.shape + (1,) * (y.ndim - axis - 1))).sum(axis=axis + 1)
        return y.astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        # A multiply-add per tap for each resampled axis (an upper bound: earlier passes are smaller).
        taps = {"nearest": 0, "linear": 2, "cubic": 4}[attrs["mode"]]
        resampled = sum(a != b for a, b in zip(operand_types[0].shape, result_types[0].shape))
        return 2 * taps * resampled * result_types[0].numel
