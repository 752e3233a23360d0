"""float32 <-> fp8 (e4m3fn, e5m2) conversions in integer arithmetic, rounding half to even like
ml_dtypes. TVM's own fp8 casts mishandle subnormals, zero, overflow and NaN, and do not vectorize."""

from __future__ import annotations

from dataclasses import dataclass

from tvm import tirx


@dataclass(frozen=True)
class F8:
    """An fp8 format: mantissa bits, exponent bias, the code an overflow becomes, a NaN code."""

    mant: int
    bias: int
    overflow: int  # e4m3fn has no inf: overflow is NaN; e5m2 overflows to inf
    nan: int
    has_inf: bool


FORMATS = {"float8_e4m3fn": F8(3, 7, 0x7F, 0x7F, False), "float8_e5m2": F8(2, 15, 0x7C, 0x7E, True)}


def _c(v, dt="int32"):
    return tirx.const(v, dt)


def f32_to_f8(x, dt: str):
    """A float32 expression converted to fp8 dtype dt (round half to even; no saturation)."""
    f = FORMATS[dt]
    bits = tirx.reinterpret("int32", x)
    sign = tirx.bitwise_and(tirx.shift_right(bits, _c(24)), _c(0x80))
    raw = tirx.bitwise_and(bits, _c(0x7FFFFFFF))
    mag = tirx.min(raw, _c(0x7F800000))  # inf and NaN clamp to inf, so the rounding cannot overflow
    shift = 23 - f.mant
    lsb = tirx.bitwise_and(tirx.shift_right(mag, _c(shift)), _c(1))
    normal = tirx.shift_right(mag + _c((1 << (shift - 1)) - 1) + lsb, _c(shift)) - _c((127 - f.bias) << f.mant)
    ax = tirx.abs(x)
    tiny = _c(2.0 ** (1 - f.bias), "float32")
    sub = tirx.nearbyint(ax * _c(2.0 ** (f.bias - 1 + f.mant), "float32")).astype("int32")
    code = tirx.Select(ax < tiny, sub, tirx.min(normal, _c(f.overflow)))
    code = tirx.Select(raw > _c(0x7F800000), _c(f.nan), code)  # NaN: all exponent bits, some mantissa
    return tirx.reinterpret(dt, tirx.bitwise_or(code, sign).astype("uint8"))


def f8_to_f32(x, dt: str):
    """An fp8 expression of dtype dt widened exactly to float32."""
    f = FORMATS[dt]
    b = tirx.reinterpret("uint8", x).astype("int32")
    e = tirx.bitwise_and(tirx.shift_right(b, _c(f.mant)), _c(0x7F >> f.mant))
    m = tirx.bitwise_and(b, _c((1 << f.mant) - 1))
    normal = tirx.reinterpret("float32", tirx.bitwise_or(tirx.shift_left(e + _c(127 - f.bias), _c(23)),
                                                         tirx.shift_left(m, _c(23 - f.mant))))
    sub = m.astype("float32") * _c(2.0 ** (1 - f.bias - f.mant), "float32")
    top = 0x7F >> f.mant
    special = (e == _c(top)) if f.has_inf else (tirx.bitwise_and(b, _c(0x7F)) == _c(0x7F))
    inf_or_nan = tirx.Select(m == _c(0), _c(float("inf"), "float32"), _c(float("nan"), "float32")) \
        if f.has_inf else _c(float("nan"), "float32")
    v = tirx.Select(special, inf_or_nan, tirx.Select(e == _c(0), sub, normal))
    return tirx.Select(b >= _c(0x80), -v, v)
