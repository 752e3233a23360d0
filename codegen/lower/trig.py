"""TE computes for inverse and hyperbolic trigonometry, as exact C math calls (TVM's own
expansions, e.g. sinh as (exp(x) - exp(-x)) / 2, lose precision near zero)."""

from __future__ import annotations

from tvm import te, tirx, topi

from .activation import expr_dtype, wide_dtype
from .registry import lowering

_UNARY = ("sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh")


def _libm(name: str, *args):
    """A C math call on float32 (the `f` variant) or float64 operands."""
    dt = expr_dtype(args[0])
    return tirx.call_pure_extern(dt, name + ("f" if dt == "float32" else ""), *args)


def _widened(fn, *args):
    """fn on the operands widened to >= float32 (like NumPy's half loops), cast back."""
    dt = expr_dtype(args[0])
    wide = wide_dtype(dt)
    return fn(*[a.astype(wide) if wide != dt else a for a in args]).astype(dt)


def _register_unary(name: str) -> None:
    @lowering(name)
    def compute(ins, attrs, out_types):
        (x,) = ins
        return te.compute(x.shape, lambda *i: _widened(lambda v: _libm(name, v), x(*i)), name=name)


for _name in _UNARY:
    _register_unary(_name)


@lowering("atan2")
def _atan2(ins, attrs, out_types):
    shape = list(out_types[0].shape)
    a, b = (topi.broadcast_to(t, shape) for t in ins)
    return te.compute(shape, lambda *i: _widened(lambda y, x: _libm("atan2", y, x), a(*i), b(*i)), name="atan2")
