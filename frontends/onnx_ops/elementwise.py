"""Elementwise ONNX ops: arithmetic, comparisons, logic, bitwise, math functions, Where, Clip,
and the variadic Sum/Mean/Max/Min (chains of binary ops)."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter

BINARY = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Equal": "equal", "Less": "less",
    "LessOrEqual": "less_equal", "Greater": "greater", "GreaterOrEqual": "greater_equal",
    "And": "logical_and", "Or": "logical_or", "Xor": "logical_xor",
    "BitwiseAnd": "bitwise_and", "BitwiseOr": "bitwise_or", "BitwiseXor": "bitwise_xor",
}
UNARY = {
    "Abs": "abs", "Neg": "neg", "Sign": "sign", "Exp": "exp", "Log": "log", "Sqrt": "sqrt",
    "Reciprocal": "reciprocal", "Sin": "sin", "Cos": "cos", "Tan": "tan", "Floor": "floor",
    "Ceil": "ceil", "Round": "round", "IsNaN": "is_nan", "Not": "logical_not", "Erf": "erf",
    "Asin": "asin", "Acos": "acos", "Atan": "atan", "Sinh": "sinh", "Cosh": "cosh",
    "Asinh": "asinh", "Acosh": "acosh", "Atanh": "atanh", "BitwiseNot": "bitwise_not",
}
VARIADIC = {"Sum": "add", "Max": "maximum", "Min": "minimum", "Mean": "add"}


# Before opset 7 these took a `broadcast` attribute instead of NumPy broadcasting.
@converter(*BINARY, since=7)
def binary(n: NodeView):
    return n.op(BINARY[n.op_type], n.input(0), n.input(1))


@converter(*UNARY)
def unary(n: NodeView):
    return n.op(UNARY[n.op_type], n.input(0))


@converter(*VARIADIC, since=6)
def variadic(n: NodeView):
    """Sum/Max/Min/Mean of n inputs as a left-to-right chain of broadcasting binary ops."""
    xs = [x for x in n.inputs() if x is not None]
    acc = xs[0]
    for x in xs[1:]:
        acc = n.op(VARIADIC[n.op_type], acc, x)
    if n.op_type == "Mean" and len(xs) > 1:
        acc = n.op("div", acc, np.array(len(xs), n.type(0).dtype.numpy))
    if len(xs) == 1:
        acc = n.op("identity", acc)
    return acc


@converter("Pow", since=7)
def pow_(n: NodeView):
    """ONNX lets the exponent's dtype differ; the result takes the base's dtype."""
    base, exponent = n.input(0), n.input(1)
    if n.type(1).dtype != n.type(0).dtype:
        exponent = n.op("cast", exponent, dtype=n.type(0).dtype)
    return n.op("pow", base, exponent)


@converter("Mod", since=10)
def mod(n: NodeView):
    """fmod=0 is Python's mod (the divisor's sign); fmod=1 is C's fmod (the dividend's sign)."""
    a, b = n.input(0), n.input(1)
    if not n.attr("fmod", 0):
        return n.op("floor_mod", a, b)
    if n.type(0).dtype.is_float:
        return n.op("mod", a, b)
    return n.op("sub", a, n.op("mul", n.op("div", a, b), b))  # integer div truncates toward zero


@converter("BitShift")
def bit_shift(n: NodeView):
    op = "shift_left" if n.attr("direction") == "LEFT" else "shift_right"
    return n.op(op, n.input(0), n.input(1))


@converter("IsInf")
def is_inf(n: NodeView):
    return n.op("is_inf", n.input(0), detect_negative=bool(n.attr("detect_negative", 1)),
                detect_positive=bool(n.attr("detect_positive", 1)))


@converter("Where")
def where(n: NodeView):
    return n.op("where", n.input(0), n.input(1), n.input(2))


@converter("Clip", since=11)
def clip(n: NodeView):
    lo, hi = n.const(1), n.const(2)
    return _clip(n, None if lo is None else lo.item(), None if hi is None else hi.item())


@converter("Clip", since=6, until=10)
def clip_attrs(n: NodeView):
    return _clip(n, n.attr("min", float(np.finfo(np.float32).min)), n.attr("max", float(np.finfo(np.float32).max)))


def _clip(n: NodeView, lo, hi):
    if lo is not None and hi is not None and lo > hi:  # ONNX: every element becomes max
        return n.op("clip", n.input(0), min=hi, max=hi)
    return n.op("clip", n.input(0), min=lo, max=hi)
