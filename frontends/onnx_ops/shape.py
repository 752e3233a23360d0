"""Shape ops and constants: Reshape, Squeeze/Unsqueeze, Flatten, Expand, Tile, Shape, Size,
Constant, ConstantOfShape, Range, EyeLike, Identity, Dropout (inference), Cast, CastLike."""

from __future__ import annotations

import numpy as np

from .node import NodeView, densify
from .registry import converter


@converter("Reshape", since=5)
def reshape(n: NodeView):
    shape = n.ints(1)
    if n.attr("allowzero", 0) and 0 in shape:
        # A literal 0 is an empty dim, not a copy: the result has no elements, so it is a constant.
        if int(np.prod(n.static_shape(0))) != 0:
            n.fail(f"allowzero reshape of {list(n.shape(0))} to {shape}: element counts differ")
        return np.zeros([0 if d == -1 else d for d in shape], n.type(0).dtype.numpy)
    return n.op("reshape", n.input(0), shape=shape)


def _axes(n: NodeView, since_input: int = 13) -> list[int] | None:
    return n.ints(1) if n.opset >= since_input else n.attr("axes")


@converter("Squeeze")
def squeeze(n: NodeView):
    return n.op("squeeze", n.input(0), axes=_axes(n))


@converter("Unsqueeze")
def unsqueeze(n: NodeView):
    return n.op("unsqueeze", n.input(0), axes=_axes(n))


@converter("Flatten")
def flatten(n: NodeView):
    return n.op("flatten", n.input(0), axis=n.attr("axis", 1))


@converter("Expand")
def expand(n: NodeView):
    return n.op("expand", n.input(0), shape=n.ints(1))


@converter("Tile")
def tile(n: NodeView):
    return n.op("tile", n.input(0), repeats=n.ints(1))


@converter("Shape")
def shape(n: NodeView):
    """A constant: kernforge folds shape computations, so the dims they read must be static."""
    dims = n.shape(0)
    start, end = n.attr("start", 0), n.attr("end", len(dims))
    if not all(isinstance(d, int) for d in dims[start:end]):
        n.fail(f"the model computes with the shape {_dims(dims)} of '{n.proto.input[0]}' at run time; "
               "make those dims static with input_shapes")
    return np.array(dims[start:end], np.int64)


def _dims(dims) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) else f"?{d or ''}" for d in dims) + "]"


@converter("Size")
def size(n: NodeView):
    dims = n.shape(0)
    if not all(isinstance(d, int) for d in dims):
        n.fail(f"the element count of '{n.proto.input[0]}' {_dims(dims)} is not static; use input_shapes")
    return np.array(int(np.prod(dims)), np.int64)


@converter("Constant")
def constant(n: NodeView):
    """The value of a Constant node, as an array that folds."""
    for key, dt in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                    ("value_ints", np.int64)):
        if key in n.attrs:
            return np.array(n.attrs[key], dt)
    if "value" in n.attrs:
        return n.attrs["value"]
    if "sparse_value" in n.attrs:
        return densify(n.attrs["sparse_value"])
    return n.fail("only tensor, float(s) and int(s) constants are supported")


@converter("ConstantOfShape")
def constant_of_shape(n: NodeView):
    value = n.attr("value")
    value = np.zeros(1, np.float32) if value is None else value
    return np.full(n.ints(0), value.reshape(-1)[0], value.dtype)


@converter("Range")
def range_(n: NodeView):
    start, limit, delta = (n.const(i) for i in range(3))
    return n.op("arange", start=start.item(), limit=limit.item(), delta=delta.item(), dtype=start.dtype)


@converter("EyeLike")
def eye_like(n: NodeView):
    rows, cols = n.static_shape(0)
    dt = n.dtype_attr("dtype") if "dtype" in n.attrs else n.type(0).dtype
    return np.eye(rows, cols, k=n.attr("k", 0), dtype=dt.numpy)


@converter("Identity")
def identity(n: NodeView):
    return n.input(0)


@converter("Dropout")
def dropout(n: NodeView):
    """Inference only: the data passes through and the mask is all true."""
    training = n.opset >= 12 and n.has(2) and bool(n.const(2).item())
    if training and float(n.const(1, 0.5).item()) != 0.0:
        n.fail("training_mode=true with a nonzero ratio (random dropout) is not supported")
    if n.opset < 7 and n.attr("is_test", 0) == 0:
        n.fail("dropout in training mode is not supported")
    x = n.input(0)
    if not n.has_output(1):
        return x
    mask = np.ones(n.static_shape(0), bool)
    return x, mask


@converter("Cast")
def cast(n: NodeView):
    return _cast(n, n.dtype_attr("to"))


@converter("CastLike")
def cast_like(n: NodeView):
    return _cast(n, n.type(1).dtype)


def _cast(n: NodeView, to):
    x, src = n.input(0), n.type(0).dtype
    if src == to:
        return x
    if to.is_float and to.bits == 8 and src.bits > 8 and n.attr("saturate", 1):
        x = n.op("clip", x, min=to.min, max=to.max)  # saturate: out-of-range values become +-max
    return n.op("cast", x, dtype=to)


@converter("BitCast")
def bitcast(n: NodeView):
    return n.op("bitcast", n.input(0), dtype=n.dtype_attr("to"))
