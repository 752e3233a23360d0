"""TE compute for floor_mod: the remainder with the divisor's sign, as NumPy's mod computes it."""

from __future__ import annotations

from tvm import te, tirx, topi

from .activation import expr_dtype, wide_dtype
from .registry import lowering


def _float_mod(a, b):
    """NumPy's float mod: C fmod, moved into the divisor's sign (exact, unlike a - floor(a / b) * b)."""
    dt = expr_dtype(a)
    r = tirx.call_pure_extern(dt, "fmodf" if dt == "float32" else "fmod", a, b)
    zero = tirx.const(0, dt)
    signs_differ = tirx.any(tirx.all(r < zero, b > zero), tirx.all(r > zero, b < zero))
    return tirx.Select(signs_differ, r + b, r)


def _int_mod(a, b):
    """Floor mod; x % 0 is 0 as in NumPy, and divisors 0 and -1 never reach the CPU's divide
    (which traps on x / 0 and on INT_MIN / -1)."""
    dt = expr_dtype(a)
    zero, one = tirx.const(0, dt), tirx.const(1, dt)
    trap = b == zero if dt.startswith("uint") else tirx.any(b == zero, b == tirx.const(-1, dt))
    return tirx.Select(trap, zero, tirx.floormod(a, tirx.Select(trap, one, b)))


@lowering("floor_mod")
def _floor_mod(ins, attrs, out_types):
    shape = list(out_types[0].shape)
    a, b = (topi.broadcast_to(t, shape) for t in ins)
    dt = str(a.dtype)
    if dt.startswith(("int", "uint")):
        return te.compute(shape, lambda *i: _int_mod(a(*i), b(*i)), name="floor_mod")
    wide = wide_dtype(dt)
    return te.compute(shape, lambda *i: _float_mod(a(*i).astype(wide), b(*i).astype(wide)).astype(dt),
                      name="floor_mod")
