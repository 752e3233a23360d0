"""TE computes for reductions over axes, arg-reductions, softmax, cumsum (a scan) and top-k."""

from __future__ import annotations

import math

from tvm import te, tirx, topi
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from ...ir.ops.shape_utils import norm_axes, norm_axis
from .activation import const, const_of, convert, exp, op_lowering, wide_dtype


def acc_dtype(x) -> str:
    """Floats accumulate in >= float32, integers in their own type (and wrap), as in the reference."""
    dt = str(x.dtype)
    return wide_dtype(dt) if dt.startswith(("float", "bfloat")) else dt


def full_index(out_idx, axes, rank: int, keepdims: bool, reduced) -> list:
    """The operand index for an output index: `reduced` (one entry per reduced axis) fills the axes."""
    out_idx, reduced = iter(out_idx), iter(reduced)
    idx = []
    for d in range(rank):
        if d in axes:
            if keepdims:
                next(out_idx)
            idx.append(next(reduced))
        else:
            idx.append(next(out_idx))
    return idx


def reduce_over(x, axes, keepdims: bool, combine, pre, name: str):
    """out = combine(pre(x)) over `axes`; without axes, pre(x) elementwise."""
    rank = len(x.shape)
    shape = [1 if d in axes else x.shape[d] for d in range(rank) if keepdims or d not in axes]
    raxes = [te.reduce_axis((0, x.shape[a]), name=f"r{a}") for a in axes]

    def body(*o):
        v = pre(x(*full_index(o, axes, rank, keepdims, raxes)))
        return combine(v, axis=raxes) if raxes else v

    return te.compute(shape, body, name=name)


def _bound(t, sign: int):
    """+-inf for floats (so an all -inf slice has max -inf, as in NumPy), else the type's extreme."""
    if str(t).startswith(("float", "bfloat")):
        return tirx.const(sign * math.inf, t)
    return te.max_value(t) if sign > 0 else te.min_value(t)


# The max/min ops start from -inf/+inf. TVM's rfactor only knows te.max/te.min (which start from the
# finite extremes), so softmax and log_sum_exp use those: there the two give the same results.
fmax = te.comm_reducer(lambda a, b: tirx.max(a, b), lambda t: _bound(t, -1), name="max")
fmin = te.comm_reducer(lambda a, b: tirx.min(a, b), lambda t: _bound(t, 1), name="min")
_prod = te.comm_reducer(lambda a, b: a * b, lambda t: tirx.const(1, t), name="prod")


def _count(x, axes) -> int:
    return math.prod(int(x.shape[a]) for a in axes)


# name -> (combine, pre(v), post(acc, count)); each mirrors the reference on the accumulator dtype.
_REDUCTIONS = {
    "sum": (te.sum, None, None),
    "mean": (te.sum, None, lambda acc, n: acc / const(n, acc)),
    "max": (fmax, None, None),
    "min": (fmin, None, None),
    "prod": (_prod, None, None),
    "sum_square": (te.sum, lambda v: v * v, None),
    "l2_norm": (te.sum, lambda v: v * v, lambda acc, n: tirx.sqrt(acc)),
}


def _register_reduction(name: str, combine, pre, post) -> None:
    @op_lowering(name, rule="reduce")
    def compute(ins, attrs, out_types):
        (x,) = ins
        axes, keepdims = norm_axes(attrs["axes"], len(x.shape)), attrs["keepdims"]
        dt = str(x.dtype)
        # bool max/min (any/all) run on uint8: TVM has no bool reduction identities.
        acc = "uint8" if dt == "bool" else acc_dtype(x)
        widen = lambda v: pre(convert(v, acc)) if pre else convert(v, acc)
        red = reduce_over(x, axes, keepdims, combine, widen, name)
        if post is None and acc == dt:
            return red
        finish = post or (lambda a, n: a)
        n = _count(x, axes)
        return te.compute(red.shape, lambda *i: convert(finish(red(*i), n), dt), name=f"{name}_out")


for _name, (_combine, _pre, _post) in _REDUCTIONS.items():
    _register_reduction(_name, _combine, _pre, _post)


@op_lowering("log_sum_exp", rule="reduce")
def _log_sum_exp(ins, attrs, out_types):
    (x,) = ins
    rank, dt, acc = len(x.shape), str(x.dtype), acc_dtype(x)
    axes, keepdims = norm_axes(attrs["axes"], rank), attrs["keepdims"]
    peak = reduce_over(x, axes, True, te.max, lambda v: convert(v, acc), "lse_max")

    def shift(idx):
        p = peak(*[0 if d in axes else i for d, i in enumerate(idx)])
        return tirx.Select(tirx.isfinite(p), p, const(0, p))  # all -inf slices: avoid inf - inf

    def exp_shifted(*idx):
        return exp(convert(x(*idx), acc) - shift(idx))

    shifted = te.compute(x.shape, exp_shifted, name="lse_exp")
    total = reduce_over(shifted, axes, keepdims, te.sum, lambda v: v, "lse_sum")

    def body(*o):
        idx = full_index(o, axes, rank, keepdims, [0] * len(axes))
        return convert(tirx.log(total(*o)) + shift(idx), dt)

    return te.compute(total.shape, body, name="log_sum_exp")


def _arg_reducer(largest: bool, last: bool):
    """(index, value) reducer; ties go to the lower index, or the higher with `last`."""

    def combine(a, b):
        better = b[1] > a[1] if largest else b[1] < a[1]
        tie = tirx.all(b[1] == a[1], b[0] > a[0] if last else b[0] < a[0])
        take = tirx.any(a[0] < 0, better, tie)  # index -1 marks the identity
        return tirx.Select(take, b[0], a[0]), tirx.Select(take, b[1], a[1])

    def identity(t0, t1):
        return tirx.const(-1, t0), tirx.const(0, t1)

    return te.comm_reducer(combine, identity, name="argmax" if largest else "argmin")


def _register_arg(name: str, largest: bool) -> None:
    @op_lowering(name, rule="reduce")
    def compute(ins, attrs, out_types):
        (x,) = ins
        rank = len(x.shape)
        axis = norm_axis(attrs["axis"], rank)
        keepdims = attrs["keepdims"]
        reducer = _arg_reducer(largest, attrs["select_last_index"])
        vt = "int8" if str(x.dtype) == "bool" else wide_dtype(x.dtype)
        k = te.reduce_axis((0, x.shape[axis]), name="k")
        shape = [1 if d == axis else x.shape[d] for d in range(rank) if keepdims or d != axis]

        def body(*o):
            v = x(*full_index(o, (axis,), rank, keepdims, [k]))
            return reducer((k.var.astype("int64"), convert(v, vt)), axis=k)

        return te.compute(shape, body, name=name)[0]


_register_arg("argmax", True)
_register_arg("argmin", False)


def _softmax_parts(x, axis: int):
    """x (widened to the accumulator dtype) minus its maximum along axis (max kept as a dim)."""
    acc = acc_dtype(x)
    peak = reduce_over(x, (axis,), True, te.max, lambda v: convert(v, acc), "softmax_max")
    at = lambda idx: [0 if d == axis else i for d, i in enumerate(idx)]
    return lambda idx: convert(x(*idx), acc) - peak(*at(idx)), at


def _exp_total(x, axis: int, name: str):
    """The max-shifted input, the index map onto the reduced axis, and the sum of exponentials."""
    shifted, at = _softmax_parts(x, axis)
    total = reduce_over(te.compute(x.shape, lambda *i: exp(shifted(i)), name=f"{name}_exp"),
                        (axis,), True, te.sum, lambda v: v, f"{name}_sum")
    return shifted, at, total


@op_lowering("softmax", rule="reduce")
def _softmax(ins, attrs, out_types):
    (x,) = ins
    shifted, at, total = _exp_total(x, norm_axis(attrs["axis"], len(x.shape)), "softmax")
    # exp is recomputed rather than stored: it is cheaper than a second pass over memory.
    return te.compute(x.shape, lambda *i: convert(exp(shifted(i)) / total(*at(i)), x.dtype),
                      name="softmax")


@op_lowering("log_softmax", rule="reduce")
def _log_softmax(ins, attrs, out_types):
    (x,) = ins
    shifted, at, total = _exp_total(x, norm_axis(attrs["axis"], len(x.shape)), "log_softmax")
    return te.compute(x.shape, lambda *i: convert(shifted(i) - tirx.log(total(*at(i))), x.dtype),
                      name="log_softmax")


def scan_ir(x, out, axis: int, exclusive: bool, reverse: bool, combine=lambda a, b: a + b, identity=0):
    """Sequential running combine (sum, product) along axis, one line per parallel iteration."""
    shape = [int(d) for d in x.shape]
    n, after = shape[axis], math.prod(shape[axis + 1:])
    rows = math.prod(shape[:axis]) * after
    with IRBuilder() as ib:
        src, dst = T.buffer_proxy(x), T.buffer_proxy(out)
        with T.parallel(0, rows) as r:
            base = (r // after) * n * after + r % after
            at = lambda k: base + ((n - 1 - k) if reverse else k) * after
            dst[at(0)] = tirx.const(identity, out.dtype) if exclusive else src[at(0)]
            with T.serial(1, n) as k:
                # exclusive shifts by one element instead of undoing the last step, which would round
                dst[at(k)] = combine(dst[at(k - 1)], src[at(k - 1) if exclusive else at(k)])
    return ib.get()


@op_lowering("cumsum", rule="opaque")
def _cumsum(ins, attrs, out_types):
    (x,) = ins
    axis = norm_axis(attrs["axis"], len(x.shape))
    acc = acc_dtype(x)
    if any(int(d) == 0 for d in x.shape):
        return te.compute(x.shape, lambda *i: const_of(0, x.dtype), name="cumsum")
    wide = x if acc == str(x.dtype) else te.compute(x.shape, lambda *i: convert(x(*i), acc), name="cumsum_in")
    run = te.extern([x.shape], [wide], lambda ins_, outs: scan_ir(ins_[0], outs[0], axis, attrs["exclusive"],
                                                                    attrs["reverse"]), dtype=acc, name="cumsum_scan")
    if acc == str(x.dtype):
        return run
    return te.compute(x.shape, lambda *i: convert(run(*i), x.dtype), name="cumsum")


_SORT_AS = {"int16": "int32", "uint16": "int32", "uint32": "int64"}


@op_lowering("topk", rule="opaque")
def _topk(ins, attrs, out_types):
    (x,) = ins
    axis, k = norm_axis(attrs["axis"], len(x.shape)), attrs["k"]
    if k == 0:  # TVM's topk reads k < 1 as "all": build the empty results directly
        shape = [0 if d == axis else x.shape[d] for d in range(len(x.shape))]
        return [te.compute(shape, lambda *i: const_of(0, x.dtype), name="topk_values"),
                te.compute(shape, lambda *i: tirx.const(0, "int64"), name="topk_indices")]
    dt = str(x.dtype)
    to_key, from_key = _sort_keys(dt)
    keys = x if to_key is None else te.compute(x.shape, lambda *i: to_key(x(*i)), name="topk_in")
    # TVM's sort is stable: ties keep the lower index first, as in the reference.
    values, index = topi.topk(keys, k, axis, "both", is_ascend=not attrs["largest"], dtype="int64")
    if from_key is not None:
        values = te.compute(values.shape, lambda *i: from_key(values(*i)), name="topk_values")
    return [values, index]


def _sort_keys(dt: str):
    """Maps into and out of a key type TVM's sort has, preserving order; (None, None) if dt is one."""
    if dt == "uint64":
        # Flipping the top bit maps unsigned order onto signed order, exactly and reversibly.
        top = tirx.const(-(1 << 63), "int64")
        return (lambda v: tirx.reinterpret("int64", v) ^ top,
                lambda v: tirx.reinterpret("uint64", v ^ top))
    wide = _SORT_AS.get(dt, wide_dtype(dt))
    if wide == dt:
        return None, None
    # Keys TVM's sort lacks are sorted in a wider type that holds every value exactly, then converted back.
    return lambda v: convert(v, wide), lambda v: convert(v, dt)
