"""Reductions: the Reduce* family, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, CumSum/CumProd, TopK."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter

REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min",
          "ReduceProd": "prod", "ReduceSumSquare": "sum_square", "ReduceL2": "l2_norm",
          "ReduceLogSumExp": "log_sum_exp", "ReduceL1": "sum", "ReduceLogSum": "sum"}
# The opset from which each Reduce op takes its axes as an input rather than an attribute.
AXES_AS_INPUT = {op: (13 if op == "ReduceSum" else 18) for op in REDUCE}


def reduce_axes(n: NodeView) -> tuple[int, ...] | None:
    """The axes to reduce, None for all; an empty list is a no-op when noop_with_empty_axes."""
    if n.opset >= AXES_AS_INPUT[n.op_type]:
        axes = n.ints(1)
    else:
        axes = n.attr("axes")
    if not axes:
        return () if n.attr("noop_with_empty_axes", 0) else None
    return tuple(int(a) for a in axes)


# The value of each reduction over no elements (ONNX defines reductions of empty sets).
EMPTY = {"ReduceSum": 0, "ReduceMean": np.nan, "ReduceMax": -np.inf, "ReduceMin": np.inf, "ReduceProd": 1,
         "ReduceSumSquare": 0, "ReduceL2": 0, "ReduceLogSumExp": -np.inf, "ReduceL1": 0, "ReduceLogSum": -np.inf}


def empty_reduction(n: NodeView, axes, keepdims: bool) -> np.ndarray | None:
    """The constant result when a reduced axis is empty, else None."""
    shape, dt = n.shape(0), n.type(0).dtype.numpy
    rank = len(shape)
    axes = range(rank) if axes is None else [a % rank for a in axes]
    if not any(shape[a] == 0 for a in axes) or not all(isinstance(d, int) for d in shape):
        return None
    out = [1 if i in axes else d for i, d in enumerate(shape)] if keepdims else \
        [d for i, d in enumerate(shape) if i not in axes]
    value = EMPTY[n.op_type]
    if dt == np.bool_:
        value = n.op_type == "ReduceMin"
    elif np.issubdtype(dt, np.integer) and not np.isfinite(value):
        value = np.iinfo(dt).min if value < 0 else np.iinfo(dt).max
    return np.full(out, value, dt)


@converter(*REDUCE)
def reduce(n: NodeView):
    """A Reduce* op; L1 and LogSum are composed from abs, sum and log."""
    x, axes = n.input(0), reduce_axes(n)
    if axes == ():
        return n.op("identity", x)
    empty = empty_reduction(n, axes, bool(n.attr("keepdims", 1)))
    if empty is not None:
        return empty
    if n.op_type == "ReduceL1":
        x = n.op("abs", x)
    out = n.op(REDUCE[n.op_type], x, axes=axes, keepdims=bool(n.attr("keepdims", 1)))
    return n.op("log", out) if n.op_type == "ReduceLogSum" else out


@converter("ArgMax", "ArgMin")
def arg_reduce(n: NodeView):
    return n.op(n.op_type.lower(), n.input(0), axis=n.attr("axis", 0), keepdims=bool(n.attr("keepdims", 1)),
                select_last_index=bool(n.attr("select_last_index", 0)))


SOFTMAX = {"Softmax": "softmax", "LogSoftmax": "log_softmax", "Hardmax": "hardmax"}


@converter(*SOFTMAX, since=13)
def softmax(n: NodeView):
    return n.op(SOFTMAX[n.op_type], n.input(0), axis=n.attr("axis", -1))


@converter(*SOFTMAX, since=1, until=12)
def softmax_2d(n: NodeView):
    """Before opset 13 the input is coerced to 2-D at `axis` (default 1), normalized per row."""
    x, shape = n.input(0), n.shape(0)
    axis = n.attr("axis", 1) % max(len(shape), 1)
    if axis == len(shape) - 1:
        return n.op(SOFTMAX[n.op_type], x, axis=-1)
    flat = n.op("flatten", x, axis=axis)
    out = n.op(SOFTMAX[n.op_type], flat, axis=-1)
    return n.op("reshape", out, shape=[0 if not isinstance(d, int) else d for d in shape])


@converter("CumSum", "CumProd")
def cumulative(n: NodeView):
    op = "cumsum" if n.op_type == "CumSum" else "cumprod"
    return n.op(op, n.input(0), axis=int(n.const(1).item()), exclusive=bool(n.attr("exclusive", 0)),
                reverse=bool(n.attr("reverse", 0)))


@converter("TopK")
def topk(n: NodeView):
    k = int(n.const(1).item()) if n.opset >= 10 else n.attr("k")
    return n.op("topk", n.input(0), k=k, axis=n.attr("axis", -1), largest=bool(n.attr("largest", 1)),
                sorted=bool(n.attr("sorted", 1)))


@converter("LpNormalization")
def lp_normalization(n: NodeView):
    """x divided by its L1 or L2 norm along axis (a zero norm leaves zeros)."""
    x, axis, p = n.input(0), n.attr("axis", -1), n.attr("p", 2)
    if p == 2:
        norm = n.op("l2_norm", x, axes=[axis], keepdims=True)
    else:
        norm = n.op("sum", n.op("abs", x), axes=[axis], keepdims=True)
    zero = np.array(0, n.type(0).dtype.numpy)
    safe = n.op("where", n.op("equal", norm, zero), np.array(1, zero.dtype), norm)
    return n.op("div", x, safe)
