"""Reductions over axes (sum, mean, max, ...), arg-reductions, softmax, cumsum and top-k."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..types import boolean, dtype, i64
from .numerics import upcast
from .registry import OPAQUE, REDUCE, Attr, OpDef, op, register
from .shape_utils import fail, need_float, norm_axes, norm_axis, out_type


def reduced_shape(shape, axes: tuple[int, ...], keepdims: bool) -> tuple:
    """shape with `axes` removed, or set to 1 when keepdims."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def per_input_element(operand_types, result_types, attrs) -> int:
    """FLOP count of a reduction: one operation per element read."""
    return operand_types[0].numel


def _accumulator(x: np.ndarray) -> np.ndarray:
    """Floats accumulate in >= float32; ints keep their type (and wrap, like the hardware)."""
    return upcast(x) if dtype(x.dtype).is_float else x


def _check_operand(x, floats_only: bool, allow_bool: bool) -> None:
    if floats_only:
        need_float(x)
    elif x.dtype == boolean and not allow_bool:
        fail(f"operand must be numeric, got {x.dtype}")


def _log_sum_exp(x, axis, keepdims):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)  # all -inf (or inf) slices: avoid inf - inf = nan
    total = np.sum(np.exp(x - peak), axis=axis, keepdims=True)
    out = np.log(total) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


_SUM = lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)

# name -> (reference fn(acc, axis, keepdims), floats only, bool allowed, doc)
_REDUCTIONS: dict[str, tuple[Callable, bool, bool, str]] = {
    "sum": (_SUM, False, False, "Sum over axes."),
    "mean": (lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims), True, False, "Mean over axes."),
    "max": (lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), False, True, "Maximum over axes."),
    "min": (lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), False, True, "Minimum over axes."),
    "prod": (lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype), False, False,
             "Product over axes."),
    "sum_square": (lambda x, axis, keepdims: _SUM(x * x, axis, keepdims), False, False, "Sum of squares over axes."),
    "l2_norm": (lambda x, axis, keepdims: np.sqrt(_SUM(x * x, axis, keepdims)), True, False,
                "Euclidean norm over axes: sqrt(sum(x * x))."),
    "log_sum_exp": (_log_sum_exp, True, False, "log(sum(exp(x))) over axes, computed stably."),
}

_REDUCE_ATTRS = {"axes": Attr("ints", None), "keepdims": Attr("bool", False)}


def reduction(name: str, fn: Callable, floats_only: bool, allow_bool: bool, doc: str) -> OpDef:
    """Register a reduction over `axes` (None = all; () = none) with optional keepdims."""

    def infer(x, *, axes, keepdims):
        _check_operand(x, floats_only, allow_bool)
        return out_type(x, reduced_shape(x.shape, norm_axes(axes, x.rank), keepdims))

    def reference(x, *, axes, keepdims):
        x = np.asarray(x)
        axes = norm_axes(axes, x.ndim)
        return np.asarray(fn(_accumulator(x), axes, keepdims)).astype(x.dtype)

    return register(OpDef(name, ("x",), dict(_REDUCE_ATTRS), REDUCE, infer, reference,
                          flops=per_input_element, doc=doc + " axes=None reduces all axes."))


for _name, (_fn, _floats_only, _allow_bool, _doc) in _REDUCTIONS.items():
    reduction(_name, _fn, _floats_only, _allow_bool, _doc)


def _arg_reduce(name: str, fn: Callable) -> OpDef:
    """Register argmax/argmin: i64 indices along one axis, ties going to the first (or last) index."""

    def infer(x, *, axis, keepdims, select_last_index):
        if x.rank == 0:
            fail(f"operand must have rank >= 1, got {x}")
        return out_type(x, reduced_shape(x.shape, (norm_axis(axis, x.rank),), keepdims), i64)

    def reference(x, *, axis, keepdims, select_last_index):
        axis = norm_axis(axis, x.ndim)
        if select_last_index:
            index = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis)
        else:
            index = fn(x, axis=axis)
        index = np.expand_dims(index, axis) if keepdims else index
        return np.asarray(index, dtype=np.int64)

    attrs = {"axis": Attr("int", 0), "keepdims": Attr("bool", False), "select_last_index": Attr("bool", False)}
    return register(OpDef(name, ("x",), attrs, REDUCE, infer, reference, flops=per_input_element,
                          doc=f"Index of the {name[3:]}imum along axis (i64)."))


_arg_reduce("argmax", np.argmax)
_arg_reduce("argmin", np.argmin)


def _softmax_infer(x, *, axis):
    need_float(x)
    norm_axis(axis, x.rank)
    return out_type(x)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)  # exp never overflows after the shift
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@op("softmax", operands="x", fusion=REDUCE, attrs={"axis": Attr("int", -1)})
class Softmax:
    """exp(x) / sum(exp(x)) along axis, shifted by the maximum for stability."""

    infer = staticmethod(_softmax_infer)

    @staticmethod
    def reference(x, *, axis):
        acc = upcast(x)
        shifted = np.exp(acc - np.max(acc, axis=axis, keepdims=True))
        return (shifted / np.sum(shifted, axis=axis, keepdims=True)).astype(x.dtype)


@op("log_softmax", operands="x", fusion=REDUCE, attrs={"axis": Attr("int", -1)})
class LogSoftmax:
    """log(softmax(x)) along axis, computed without forming softmax."""

    infer = staticmethod(_softmax_infer)

    @staticmethod
    def reference(x, *, axis):
        return _log_softmax(upcast(x), axis).astype(x.dtype)


@op("cumsum", operands="x", fusion=OPAQUE,
    attrs={"axis": Attr("int"), "exclusive": Attr("bool", False), "reverse": Attr("bool", False)})
class CumSum:
    """Running sum along axis; exclusive leaves out the current element, reverse runs from the end."""

    @staticmethod
    def infer(x, *, axis, exclusive, reverse):
        _check_operand(x, floats_only=False, allow_bool=False)
        norm_axis(axis, x.rank)
        return out_type(x)

    @staticmethod
    def reference(x, *, axis, exclusive, reverse):
        acc = np.moveaxis(_accumulator(x), norm_axis(axis, x.ndim), 0)
        acc = acc[::-1] if reverse else acc
        total = np.cumsum(acc, axis=0, dtype=acc.dtype)
        if exclusive:  # shift by one instead of subtracting, which would round floats
            total = np.concatenate([np.zeros_like(total[:1]), total[:-1]])
        total = total[::-1] if reverse else total
        return np.moveaxis(total, 0, norm_axis(axis, x.ndim)).astype(x.dtype)


@op("topk", operands="x", fusion=OPAQUE, attrs={
    "k": Attr("int"), "axis": Attr("int", -1), "largest": Attr("bool", True), "sorted": Attr("bool", True)})
class TopK:
    """The k largest (or smallest) values along axis and their i64 indices; ties go to the lower index.
    Results are always sorted, which also satisfies sorted=False."""

    @staticmethod
    def infer(x, *, k, axis, largest, sorted):
        _check_operand(x, floats_only=False, allow_bool=False)
        if x.rank == 0:
            fail(f"operand must have rank >= 1, got {x}")
        axis = norm_axis(axis, x.rank)
        size = x.shape[axis]
        if k < 0 or (isinstance(size, int) and k > size):
            fail(f"k={k} is out of range for axis {axis} of size {size}")
        shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
        return out_type(x, shape), out_type(x, shape, i64)

    @staticmethod
    def reference(x, *, k, axis, largest, sorted):
        axis = norm_axis(axis, x.ndim)
        if largest:
            # Stable ascending sort of the flipped axis, read backwards: descending, equal values
            # in increasing original index (NaN, sorted last by NumPy, comes out as the largest).
            flipped_order = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
            order = x.shape[axis] - 1 - flipped_order
        else:
            order = np.argsort(x, axis=axis, kind="stable")
        index = np.take(order, np.arange(k), axis=axis).astype(np.int64)
        return np.take_along_axis(x, index, axis), index
