"""Unary ATen math: one IR op each, or a short exact composition (expm1, log2, trunc, ...)."""

from __future__ import annotations

import math

from torch.ops import aten

from ...ir.types import boolean
from .context import Ctx
from .elementwise import trunc, truthy
from .registry import converts

# Ops whose integer inputs torch promotes to the float result dtype first.
_DIRECT = {
    aten.abs: "abs", aten.neg: "neg", aten.sign: "sign", aten.exp: "exp", aten.log: "log",
    aten.sqrt: "sqrt", aten.rsqrt: "rsqrt", aten.reciprocal: "reciprocal", aten.sin: "sin",
    aten.cos: "cos", aten.tan: "tan", aten.tanh: "tanh", aten.sigmoid: "sigmoid", aten.erf: "erf",
    aten.floor: "floor", aten.ceil: "ceil", aten.sinh: "sinh", aten.cosh: "cosh", aten.asin: "asin",
    aten.acos: "acos", aten.atan: "atan", aten.asinh: "asinh", aten.acosh: "acosh", aten.atanh: "atanh",
}


def _direct(name: str):
    def convert(cx: Ctx, x):
        x = cx.cast(x, cx.out_dtype())
        if name in ("floor", "ceil", "abs", "neg", "sign") and not x.type.dtype.is_float:
            return x if name in ("floor", "ceil") else cx.op(name, x)  # rounding an int is the int
        return cx.op(name, x)

    return convert


for _packet, _name in _DIRECT.items():
    converts(_packet)(_direct(_name))


@converts(aten.round)
def round_(cx: Ctx, x, *, decimals=0):
    """Half to even, like NumPy; decimals scale by 10**decimals around the rounding."""
    if decimals == 0:
        return cx.op("round", x)
    scale = cx.like(10.0**decimals, x)
    return cx.op("div", cx.op("round", cx.op("mul", x, scale)), scale)


@converts(aten.trunc)
def trunc_(cx: Ctx, x):
    return trunc(cx, x) if x.type.dtype.is_float else x


@converts(aten.expm1)
def expm1(cx: Ctx, x):
    x = cx.cast(x, cx.out_dtype())
    return cx.op("sub", cx.op("exp", x), cx.like(1, x))


@converts(aten.log1p)
def log1p(cx: Ctx, x):
    x = cx.cast(x, cx.out_dtype())
    return cx.op("log", cx.op("add", x, cx.like(1, x)))


def _log_base(base: float):
    def convert(cx: Ctx, x):
        x = cx.cast(x, cx.out_dtype())
        return cx.op("mul", cx.op("log", x), cx.like(1.0 / math.log(base), x))

    return convert


converts(aten.log2)(_log_base(2.0))
converts(aten.log10)(_log_base(10.0))


@converts(aten.exp2)
def exp2(cx: Ctx, x):
    x = cx.cast(x, cx.out_dtype())
    return cx.op("pow", cx.like(2.0, x), x)


@converts(aten.isnan)
def isnan(cx: Ctx, x):
    if not x.type.dtype.is_float:
        return cx.op("not_equal", x, x)  # all false, in the operand's shape
    return cx.op("is_nan", x)


@converts(aten.isinf)
def isinf(cx: Ctx, x):
    if not x.type.dtype.is_float:
        return cx.op("not_equal", x, x)
    return cx.op("is_inf", x)


@converts(aten.logical_not)
def logical_not(cx: Ctx, x):
    return cx.op("logical_not", truthy(cx, x))


@converts(aten.bitwise_not)
def bitwise_not(cx: Ctx, x):
    if x.type.dtype == boolean:
        return cx.op("logical_not", x)
    return cx.op("bitwise_not", x)
