"""TE compute for hardmax: a first-index argmax along the axis, then a one-hot of it. Floats are
compared as integer keys of their bits, so that NaN ranks highest as in np.argmax (NaN tests inside
a vectorized float reduction did not survive TVM's lowering)."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from .registry import lowering

_BITS = {"float64": "int64"}  # other floats compare as float32, which holds them exactly


def _key(v, dt: str):
    """An integer with the order of the float v: -0.0 ties +0.0, every NaN is the maximum."""
    fdt = dt if dt in _BITS else "float32"
    idt = _BITS.get(fdt, "int32")
    bits = tirx.reinterpret(idt, v.astype(fdt) if fdt != dt else v)
    c = lambda n: tirx.const(n, idt)
    nbits = 64 if idt == "int64" else 32
    magnitude = tirx.bitwise_and(bits, c((1 << (nbits - 1)) - 1))
    exp_all_ones = c(0x7FF0000000000000 if nbits == 64 else 0x7F800000)
    ordered = tirx.Select(bits >= c(0), bits, -magnitude)
    return tirx.Select(magnitude > exp_all_ones, c((1 << (nbits - 1)) - 1), ordered)


def _first_argmax():
    """(index, key) reducer keeping the first maximum."""

    def combine(a, b):
        # index -1 marks the identity, which either side may hold when partial results combine
        wins = tirx.any(b[1] > a[1], tirx.all(b[1] == a[1], b[0] < a[0]))
        take = tirx.any(a[0] < 0, tirx.all(b[0] >= 0, wins))
        return tirx.Select(take, b[0], a[0]), tirx.Select(take, b[1], a[1])

    return te.comm_reducer(combine, lambda t0, t1: (tirx.const(-1, t0), tirx.const(0, t1)), name="argmax")


def _order_key(dt: str):
    if dt.startswith(("float", "bfloat")):
        return lambda v: _key(v, dt)
    return (lambda v: v.astype("int8")) if dt == "bool" else (lambda v: v)


@lowering("hardmax", rule="reduce")
def _hardmax(ins, attrs, out_types):
    (x,) = ins
    dt, rank = str(x.dtype), len(x.shape)
    axis = norm_axis(attrs["axis"], rank)
    key, reducer = _order_key(dt), _first_argmax()
    k = te.reduce_axis((0, x.shape[axis]), name="k")
    row = [1 if d == axis else x.shape[d] for d in range(rank)]

    def argmax(*o):
        v = x(*[k if d == axis else o[d] for d in range(rank)])
        return reducer((k.var.astype("int32"), key(v)), axis=k)

    first = te.compute(row, argmax, name="hardmax_argmax")[0]
    at = lambda i: [0 if d == axis else i[d] for d in range(rank)]
    return te.compute(x.shape, lambda *i: (i[axis].astype("int32") == first(*at(i))).astype(dt), name="hardmax")
