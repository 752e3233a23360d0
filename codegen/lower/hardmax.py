"""TE compute for hardmax: a first-index argmax reduction along the axis, then a one-hot of it."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from .registry import lowering


def _first_argmax(is_float: bool):
    """(index, value) reducer keeping the first maximum; a NaN beats any number, as in np.argmax."""

    def combine(a, b):
        better = b[1] > a[1]
        if is_float:
            better = tirx.any(better, tirx.all(tirx.isnan(b[1]), tirx.Not(tirx.isnan(a[1]))))
            same = tirx.any(b[1] == a[1], tirx.all(tirx.isnan(b[1]), tirx.isnan(a[1])))
        else:
            same = b[1] == a[1]
        # index -1 marks the identity, which either side may hold when partial results combine
        take = tirx.any(a[0] < 0, tirx.all(b[0] >= 0, tirx.any(better, tirx.all(same, b[0] < a[0]))))
        return tirx.Select(take, b[0], a[0]), tirx.Select(take, b[1], a[1])

    return te.comm_reducer(combine, lambda t0, t1: (tirx.const(-1, t0), tirx.const(0, t1)), name="argmax")


@lowering("hardmax", rule="reduce")
def _hardmax(ins, attrs, out_types):
    (x,) = ins
    dt, rank = str(x.dtype), len(x.shape)
    axis = norm_axis(attrs["axis"], rank)
    vt = "int8" if dt == "bool" else dt  # TIR compares bools poorly: reduce them as bytes
    reducer = _first_argmax(dt.startswith(("float", "bfloat")))
    k = te.reduce_axis((0, x.shape[axis]), name="k")
    row = [1 if d == axis else x.shape[d] for d in range(rank)]

    def argmax(*o):
        v = x(*[k if d == axis else o[d] for d in range(rank)])
        return reducer((k.var.astype("int32"), v.astype(vt)), axis=k)

    first = te.compute(row, argmax, name="hardmax_argmax")[0]
    at = lambda i: [0 if d == axis else i[d] for d in range(rank)]
    return te.compute(x.shape, lambda *i: (i[axis].astype("int32") == first(*at(i))).astype(dt), name="hardmax")
