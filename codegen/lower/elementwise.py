"""TE computes for elementwise math, comparisons, logic, where and clip."""

from __future__ import annotations

from tvm import te, tirx, topi

from .activation import clamp, exp
from .registry import lowering

_BINARY = {
    "add": topi.add, "sub": topi.subtract, "mul": topi.multiply,
    "maximum": topi.maximum, "minimum": topi.minimum, "equal": topi.equal,
    "not_equal": topi.not_equal, "less": topi.less, "less_equal": topi.less_equal,
    "greater": topi.greater, "greater_equal": topi.greater_equal, "logical_and": topi.logical_and,
    "logical_or": topi.logical_or, "logical_xor": topi.logical_xor,
}
_UNARY = {
    "neg": topi.negative, "abs": topi.abs, "sign": topi.sign, "log": topi.log,
    "sqrt": topi.sqrt, "rsqrt": topi.rsqrt, "sin": topi.sin, "cos": topi.cos, "tan": topi.tan,
    "floor": topi.floor, "ceil": topi.ceil, "round": topi.round, "is_nan": topi.isnan,
    "logical_not": topi.logical_not,
}


def _register_table(table: dict, arity: int) -> None:
    for name, fn in table.items():
        lowering(name)(lambda ins, attrs, out_types, fn=fn: fn(*ins[:arity]))


_register_table(_BINARY, 2)
_register_table(_UNARY, 1)


@lowering("exp")
def _exp(ins, attrs, out_types):
    (x,) = ins
    return te.compute(x.shape, lambda *i: exp(x(*i)), name="exp")


@lowering("reciprocal")
def _reciprocal(ins, attrs, out_types):
    (x,) = ins
    return te.compute(x.shape, lambda *i: tirx.const(1, x.dtype) / x(*i), name="reciprocal")


def _is_int(t) -> bool:
    return str(t.dtype).startswith(("int", "uint"))


@lowering("div")
def _div(ins, attrs, out_types):
    a, b = ins
    # Integer division truncates toward zero, like the reference (and C, and ONNX).
    return _broadcast_binary(a, b, tirx.truncdiv if _is_int(a) else (lambda x, y: x / y), "div")


@lowering("pow")
def _pow(ins, attrs, out_types):
    a, b = ins
    if not _is_int(a):
        return topi.power(a, b)
    # TVM's pow is float-only: go through float64, which is exact for every int32 result.
    f64 = lambda v: tirx.Cast("float64", v)
    int_pow = lambda x, y: tirx.Cast(str(a.dtype), tirx.round(tirx.pow(f64(x), f64(y))))
    return _broadcast_binary(a, b, int_pow, "pow")


@lowering("mod")
def _mod(ins, attrs, out_types):
    a, b = ins
    # Integers take the divisor's sign (NumPy/ONNX fmod=0); floats truncate (C fmod, ONNX fmod=1).
    fmod = lambda x, y: x - tirx.trunc(x / y) * y
    return _broadcast_binary(a, b, tirx.floormod if _is_int(a) else fmod, "mod")


def _broadcast_binary(a, b, fn, name):
    """Apply fn elementwise with NumPy broadcasting of a and b."""
    rank = max(len(a.shape), len(b.shape))
    shape = _bshape(a, b)

    def index(t, idx):
        off = rank - len(t.shape)
        return [0 if _is_one(t.shape[k]) else idx[off + k] for k in range(len(t.shape))]

    return te.compute(shape, lambda *i: fn(a(*index(a, i)), b(*index(b, i))), name=name)


def _is_one(d) -> bool:
    return isinstance(d, (int, tirx.IntImm)) and int(d) == 1


def _bshape(a, b):
    rank = max(len(a.shape), len(b.shape))
    pa = [1] * (rank - len(a.shape)) + list(a.shape)
    pb = [1] * (rank - len(b.shape)) + list(b.shape)
    return [y if _is_one(x) else x for x, y in zip(pa, pb)]


@lowering("where")
def _where(ins, attrs, out_types):
    return topi.where(*ins)


@lowering("clip")
def _clip(ins, attrs, out_types):
    (x,) = ins
    lo, hi = attrs["min"], attrs["max"]

    def f(*i):
        bound = lambda b: None if b is None else tirx.const(b, x.dtype)
        return clamp(x(*i), bound(lo), bound(hi))

    return te.compute(x.shape, f, name="clip")
