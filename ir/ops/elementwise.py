"""Elementwise math: unary and binary arithmetic with NumPy broadcasting, comparisons, logic,
where and clip."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..types import boolean
from .registry import BROADCAST, ELEMWISE, Attr, OpDef, register
from .shape_utils import broadcast_shapes, fail, need_float, out_type, same_dtype


def unary(name: str, fn: Callable, *, floats_only: bool = False, attrs: dict | None = None,
          doc: str = "", result_dtype=None) -> OpDef:
    """Register an elementwise unary op whose reference is fn(x, **attrs)."""

    def infer(x, **_):
        if floats_only:
            need_float(x)
        return out_type(x, dt=result_dtype)

    return register(OpDef(name, ("x",), dict(attrs or {}), ELEMWISE, infer, fn, doc=doc))


def binary(name: str, fn: Callable, *, result_dtype=None, doc: str = "", logical: bool = False) -> OpDef:
    """Register a broadcasting binary op; both operands must share a dtype."""

    def infer(a, b):
        same_dtype(a, b)
        if logical and a.dtype != boolean:
            fail(f"operands must be bool, got {a.dtype}")
        return out_type(a, broadcast_shapes(a.shape, b.shape), result_dtype)

    kind = ELEMWISE if result_dtype is None else BROADCAST
    return register(OpDef(name, ("a", "b"), {}, kind, infer, fn, doc=doc))


def _int_div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        q = np.abs(a) // np.abs(b)
        return (np.sign(a) * np.sign(b) * q).astype(a.dtype)  # truncates toward zero, like C
    return a / b


def _int_mod(a, b):
    return np.mod(a, b) if np.issubdtype(a.dtype, np.integer) else np.fmod(a, b)


for _name, _fn in {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _int_div,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum, "mod": _int_mod,
}.items():
    binary(_name, _fn, doc=f"Elementwise {_name} with NumPy broadcasting.")

for _name, _fn in {
    "equal": np.equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal,
}.items():
    binary(_name, _fn, result_dtype=boolean, doc=f"Elementwise comparison {_name}; result is bool.")

for _name, _fn in {"logical_and": np.logical_and, "logical_or": np.logical_or,
                   "logical_xor": np.logical_xor}.items():
    binary(_name, _fn, result_dtype=boolean, logical=True, doc=f"Elementwise {_name} of bools.")


def _logical_not_infer(x):
    if x.dtype != boolean:
        fail(f"operand must be bool, got {x.dtype}")
    return out_type(x)


register(OpDef("logical_not", ("x",), {}, ELEMWISE, _logical_not_infer, np.logical_not,
               doc="Elementwise logical not of a bool tensor."))

for _name, _fn in {"neg": np.negative, "abs": np.abs, "sign": np.sign}.items():
    unary(_name, _fn, doc=f"Elementwise {_name}.")

for _name, _fn in {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x),
    "reciprocal": np.reciprocal, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "floor": np.floor, "ceil": np.ceil, "round": np.round,
}.items():
    unary(_name, _fn, floats_only=True, doc=f"Elementwise {_name} of a float tensor.")

unary("is_nan", np.isnan, floats_only=True, result_dtype=boolean, doc="True where x is NaN.")


class _Where:
    @staticmethod
    def infer(cond, x, y):
        if cond.dtype != boolean:
            fail(f"condition must be bool, got {cond.dtype}")
        same_dtype(x, y)
        return out_type(x, broadcast_shapes(cond.shape, x.shape, y.shape))

    @staticmethod
    def reference(cond, x, y):
        return np.where(cond, x, y)


register(OpDef("where", ("cond", "x", "y"), {}, BROADCAST, _Where.infer, _Where.reference,
               doc="Select x where cond is true, else y, with broadcasting."))


def _clip(x, *, min, max):
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    return np.clip(x, lo, hi).astype(x.dtype)


unary("clip", _clip, attrs={"min": Attr("float", None), "max": Attr("float", None)},
      doc="Clamp x to [min, max]; a missing bound is unbounded.")
