"""Binary ATen ops: arithmetic, comparisons, logic and where, with torch's type promotion."""

from __future__ import annotations

from torch.ops import aten

from ...ir.types import boolean
from .context import Ctx, is_tensor
from .registry import converts


def binary(cx: Ctx, name: str, a, b, dt=None):
    """name(a, b) computed in dt (default: the node's result dtype); numbers become constants."""
    dt = dt or cx.out_dtype()
    return cx.op(name, cx.tensor(a, dt), cx.tensor(b, dt))


def _arith(name: str):
    def convert(cx: Ctx, a, b, **_):
        return binary(cx, name, a, b)

    return convert


_ARITH = {aten.mul: "mul", aten.maximum: "maximum", aten.minimum: "minimum"}
for _packet, _name in _ARITH.items():
    converts(_packet)(_arith(_name))


@converts(aten.add, aten.sub)
def add_sub(cx: Ctx, a, b, *, alpha=1):
    if alpha != 1:
        b = binary(cx, "mul", b, alpha)
    return binary(cx, "add" if cx.node.target.overloadpacket is aten.add else "sub", a, b)


@converts(aten.div)
def div(cx: Ctx, a, b, *, rounding_mode=None):
    """True division in the result dtype; floor/trunc modes round the float quotient, or for
    integers use exact identities so no float round trip can lose precision."""
    dt = cx.out_dtype()
    if dt.is_float:
        q = binary(cx, "div", a, b, dt)
        if rounding_mode == "floor":
            return cx.op("floor", q)
        return trunc(cx, q) if rounding_mode == "trunc" else q
    if rounding_mode == "trunc":
        return binary(cx, "div", a, b, dt)  # the IR's integer div truncates, like C
    # Floor division: a - mod(a, b) is an exact multiple of b, and mod is floor-mod for ints.
    a, b = cx.tensor(a, dt), cx.tensor(b, dt)
    return cx.op("div", cx.op("sub", a, cx.op("mod", a, b)), b)


def trunc(cx: Ctx, x):
    """Round toward zero: sign(x) * floor(|x|)."""
    return cx.op("mul", cx.op("sign", x), cx.op("floor", cx.op("abs", x)))


@converts(aten.remainder)
def remainder(cx: Ctx, a, b):
    """Python-style modulo (the result has the divisor's sign)."""
    return binary(cx, "floor_mod", a, b)


@converts(aten.fmod)
def fmod(cx: Ctx, a, b):
    """C-style modulo (sign of the dividend): the IR's float mod already is; ints use a - trunc(a / b) * b."""
    dt = cx.out_dtype()
    a, b = cx.tensor(a, dt), cx.tensor(b, dt)
    if dt.is_float:
        return cx.op("mod", a, b)
    return cx.op("sub", a, cx.op("mul", cx.op("div", a, b), b))


@converts(aten.pow)
def pow_(cx: Ctx, a, b):
    if not is_tensor(b) and b == 2:
        x = cx.tensor(a, cx.out_dtype())
        return cx.op("mul", x, x)  # exact, and what torch's own kernel does for squares
    return binary(cx, "pow", a, b)


@converts(aten.hypot)
def hypot(cx: Ctx, a, b):
    dt = cx.out_dtype()
    a, b = cx.tensor(a, dt), cx.tensor(b, dt)
    return cx.op("sqrt", cx.op("add", cx.op("mul", a, a), cx.op("mul", b, b)))


@converts(aten.atan2)
def atan2(cx: Ctx, a, b):
    return binary(cx, "atan2", a, b)


def _compare(name: str):
    def convert(cx: Ctx, a, b):
        return binary(cx, name, a, b, cx.result_type(a, b))

    return convert


_COMPARE = {aten.eq: "equal", aten.ne: "not_equal", aten.lt: "less", aten.le: "less_equal",
            aten.gt: "greater", aten.ge: "greater_equal"}
for _packet, _name in _COMPARE.items():
    converts(_packet)(_compare(_name))


def _logical(name: str, bitwise: str):
    """logical_* on any dtype (nonzero is true); bitwise_* on bools is the same thing."""

    def convert(cx: Ctx, a, b):
        if cx.out_dtype() != boolean:
            return binary(cx, bitwise, a, b)
        return cx.op(name, truthy(cx, a), truthy(cx, b))

    return convert


def truthy(cx: Ctx, x):
    if not is_tensor(x):
        return cx.const(bool(x), boolean)
    if x.type.dtype == boolean:
        return x
    return cx.op("not_equal", x, cx.like(0, x))


for _suffix in ("and", "or", "xor"):
    converts(getattr(aten, f"logical_{_suffix}"), getattr(aten, f"bitwise_{_suffix}"))(
        _logical(f"logical_{_suffix}", f"bitwise_{_suffix}"))


@converts(aten.where)
def where(cx: Ctx, cond, a, b):
    dt = cx.out_dtype()
    return cx.op("where", truthy(cx, cond), cx.tensor(a, dt), cx.tensor(b, dt))

