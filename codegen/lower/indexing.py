"""TE computes for index-driven ops: gathers, scatters (hand-written TIR: duplicates must apply in order),
one_hot, shape_of and arange (constants), and resize (a gather at source coordinates computed in float64)."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from ...ir.ops.shape_utils import norm_axis
from ..dtypes import tvm_dtype
from .activation import convert, op_lowering, select


def _index(v, n: int):
    """A data-dependent index: negative counts from the end (ONNX); clamped, so that a bad index
    cannot read or write outside the buffer."""
    v = v.astype("int32")
    v = tirx.Select(v < 0, v + n, v)
    return tirx.min(tirx.max(v, 0), n - 1)


def _dims(t) -> list[int]:
    return [int(d) for d in t.shape]


@op_lowering("gather")
def _gather(ins, attrs, out_types):
    x, idx = ins
    a = norm_axis(attrs["axis"], len(x.shape))
    r, n = len(idx.shape), int(x.shape[a])

    def body(*i):
        return x(*i[:a], _index(idx(*i[a:a + r]), n), *i[a + r:])

    return te.compute([int(d) for d in out_types[0].shape], body, name="gather")


@op_lowering("gather_elements")
def _gather_elements(ins, attrs, out_types):
    x, idx = ins
    a = norm_axis(attrs["axis"], len(x.shape))
    n = int(x.shape[a])
    return te.compute(idx.shape, lambda *i: x(*i[:a], _index(idx(*i), n), *i[a + 1:]), name="gather_elements")


@op_lowering("gather_nd")
def _gather_nd(ins, attrs, out_types):
    x, idx = ins
    b, k, q = attrs["batch_dims"], int(idx.shape[-1]), len(idx.shape) - 1
    dims = _dims(x)

    def body(*i):
        head = [_index(idx(*i[:q], j), dims[b + j]) for j in range(k)]
        return x(*i[:b], *head, *i[q:])

    return te.compute([int(d) for d in out_types[0].shape], body, name="gather_nd")


_COMBINE = {
    "none": lambda old, new: new,
    "add": lambda old, new: old + new,
    "mul": lambda old, new: old * new,
    "max": tirx.max,
    "min": tirx.min,
}


def _unravel(flat, shape: list[int]) -> list:
    idx = []
    for d in reversed(shape):
        idx.append(flat % d)
        flat = flat // d
    return idx[::-1]


def _scatter_extern(x, idx, upd, name: str, updates_ir):
    """out = copy of x, then updates_ir(X, I, U, O) applies the updates in place."""

    def ir(ins, outs):
        src, ind, new, out = (T.buffer_proxy(b) for b in (*ins, outs[0]))
        with IRBuilder() as copy:
            with T.parallel(0, math.prod(_dims(x))) as p:
                out[p] = src[p]
        with IRBuilder() as scatter:
            updates_ir(ind, new, out)
        return tirx.SeqStmt([copy.get(), scatter.get()])

    if any(d == 0 for d in _dims(idx)):
        return te.compute(x.shape, lambda *i: x(*i), name=name)
    return te.extern([x.shape], [x, idx, upd], ir, dtype=str(x.dtype), name=name)


@op_lowering("scatter_elements", rule="opaque")
def _scatter_elements(ins, attrs, out_types):
    x, idx, upd = ins
    a, dims, ishape = norm_axis(attrs["axis"], len(x.shape)), _dims(x), _dims(idx)
    rest = ishape[:a] + ishape[a + 1:]
    combine = _COMBINE[attrs["reduction"]]

    def updates(ind, new, out):
        # one parallel task per line along the axis: duplicates within it apply in index order
        with T.parallel(0, math.prod(rest)) as r:
            coords = _unravel(r, rest)
            with T.serial(0, ishape[a]) as k:
                pos = coords[:a] + [k] + coords[a:]
                dst = coords[:a] + [_index(ind[tuple(pos)], dims[a])] + coords[a:]
                out[tuple(dst)] = combine(out[tuple(dst)], new[tuple(pos)])

    return _scatter_extern(x, idx, upd, "scatter_elements", updates)


@op_lowering("scatter_nd", rule="opaque")
def _scatter_nd(ins, attrs, out_types):
    x, idx, upd = ins
    dims, ishape = _dims(x), _dims(idx)
    k, lead = ishape[-1], ishape[:-1]
    tail = dims[k:]
    combine = _COMBINE[attrs["reduction"]]

    def updates(ind, new, out):
        # one parallel task per element of the written slices: all updates to it apply in order
        with T.parallel(0, math.prod(tail)) as s:
            t = _unravel(s, tail)
            with T.serial(0, math.prod(lead)) as m:
                mi = _unravel(m, lead)
                head = [_index(ind[tuple(mi + [j])], dims[j]) for j in range(k)]
                out[tuple(head + t)] = combine(out[tuple(head + t)], new[tuple(mi + t)])

    return _scatter_extern(x, idx, upd, "scatter_nd", updates)


@op_lowering("one_hot")
def _one_hot(ins, attrs, out_types):
    idx, values = ins
    depth, rank = attrs["depth"], len(idx.shape)
    a = norm_axis(attrs["axis"], rank + 1)

    def body(*i):
        v = idx(*i[:a], *i[a + 1:])
        v = tirx.Select(v < 0, v + tirx.const(depth, idx.dtype), v)  # out of range matches no position
        return select(v == i[a].astype(idx.dtype), values(1), values(0))

    return te.compute([int(d) for d in out_types[0].shape], body, name="one_hot")


@op_lowering("shape_of")
def _shape_of(ins, attrs, out_types):
    dims = _dims(ins[0])

    def body(i):
        v = tirx.const(dims[-1] if dims else 0, "int64")
        for k in range(len(dims) - 2, -1, -1):
            v = tirx.Select(i == k, tirx.const(dims[k], "int64"), v)
        return v

    return te.compute((len(dims),), body, name="shape_of")


@op_lowering("arange")
def _arange(ins, attrs, out_types):
    dt, (n,) = tvm_dtype(attrs["dtype"]), _dims(out_types[0])
    start, delta = tirx.const(attrs["start"], "float64"), tirx.const(attrs["delta"], "float64")
    # float64 arithmetic, then one conversion: as the reference's start + arange(n) * delta
    return te.compute((n,), lambda i: convert(start + i.astype("float64") * delta, dt), name="arange")


def _f64(v):
    return tirx.const(v, "float64")


def _source_coord(x, o: int, n: int, scale: float, mode: str):
    """ONNX Resize's coordinate transform of output index x, op for op as the reference (float64)."""
    if mode == "align_corners":  # ONNX: the resized length is n * scale, not the floored size
        resized = n * scale
        return x * _f64((n - 1) / (resized - 1)) if o > 1 and resized > 1 else x * _f64(0)
    if mode == "asymmetric":
        return x / _f64(scale)
    if mode == "tf_half_pixel_for_nn":
        return (x + _f64(0.5)) / _f64(scale)
    if mode == "pytorch_half_pixel" and o <= 1:
        return x * _f64(0)
    return (x + _f64(0.5)) / _f64(scale) - _f64(0.5)


_ROUND = {
    "floor": tirx.floor, "ceil": tirx.ceil,
    "round_prefer_floor": lambda v: tirx.ceil(v - _f64(0.5)),  # ties go down
    "round_prefer_ceil": lambda v: tirx.floor(v + _f64(0.5)),
}


def _clamped(v, n: int):
    return tirx.min(tirx.max(v, _f64(0)), _f64(n - 1)).astype("int32")


def _cubic(d, a: float):
    """Keys cubic convolution weight at distance d."""
    a_ = _f64(a)
    near = ((a_ + _f64(2)) * d - (a_ + _f64(3))) * d * d + _f64(1)
    far = ((a_ * d - _f64(5 * a)) * d + _f64(8 * a)) * d - _f64(4 * a)
    return tirx.Select(d <= _f64(1), near, far)


def _resample(y, axis: int, o: int, scale: float, attrs: dict):
    """y resized along one axis to o elements: nearest picks one source element, linear/cubic sum taps."""
    n, mode = int(y.shape[axis]), attrs["mode"]
    shape = [o if d == axis else y.shape[d] for d in range(len(y.shape))]
    at = lambda i, src: y(*i[:axis], src, *i[axis + 1:])
    coord = lambda i: _source_coord(i[axis].astype("float64"), o, n, scale, attrs["coordinate_transformation_mode"])
    if mode == "nearest":
        return te.compute(shape, lambda *i: at(i, _clamped(_ROUND[attrs["nearest_mode"]](coord(i)), n)))
    offsets = range(2) if mode == "linear" else range(-1, 3)

    def body(*i):
        c = coord(i)
        base = tirx.floor(c)
        total = None
        for off in offsets:  # clamped taps repeat the edge sample, as ONNX's edge padding does
            d = tirx.abs(_f64(off) - (c - base))
            w = _f64(1) - d if mode == "linear" else _cubic(d, attrs["cubic_coeff_a"])
            term = at(i, _clamped(base + _f64(off), n)) * w
            total = term if total is None else total + term
        return total

    return te.compute(shape, body)


@op_lowering("resize")
def _resize(ins, attrs, out_types):
    (x,) = ins
    dt, sizes, scales = str(x.dtype), _dims(out_types[0]), attrs["scales"]
    y = x if attrs["mode"] == "nearest" else te.compute(x.shape, lambda *i: convert(x(*i), "float64"))
    for axis, o in enumerate(sizes):
        n = int(x.shape[axis])
        scale = o / n if scales is None else scales[axis]
        if not (o == n and scale == 1):
            y = _resample(y, axis, o, scale, attrs)
    if y is x or str(y.dtype) != dt:
        y = te.compute(y.shape, lambda *i: convert(y(*i), dt), name="resize")
    return y
