"""Vectorizable float32 math: LLVM turns a vector `exp` into one libm call per lane, which makes a
softmax over long rows exp-bound; this polynomial (Cephes expf) stays in vector registers."""

from __future__ import annotations

from tvm import tirx

# exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 (ln 2 split in two for accuracy).
_LN2_HI, _LN2_LO, _LOG2E = 0.693359375, -2.12194440e-4, 1.44269504088896341
_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
# Past these the result leaves float32's normal range: 0 below; inf above (expf overflows at
# 88.72; the last 0.35 is given up so that 2^n stays a normal float).
_LO, _HI = -87.33654, 88.37626


def fast_exp(x):
    """e^x for a float32 expression, within a few ulp of expf; exactly 0 below about -87.3."""
    f = lambda v: tirx.const(v, "float32")
    xc = tirx.min(tirx.max(x, f(_LO)), f(_HI))
    n = tirx.floor(xc * f(_LOG2E) + f(0.5))
    r = xc - n * f(_LN2_HI) - n * f(_LN2_LO)
    p = f(_POLY[0])
    for c in _POLY[1:]:
        p = p * r + f(c)
    y = p * r * r + r + f(1.0)
    scale = tirx.reinterpret("float32", tirx.shift_left(n.astype("int32") + tirx.const(127, "int32"),
                                                        tirx.const(23, "int32")))
    return tirx.Select(x < f(_LO), f(0.0), tirx.Select(x > f(_HI), f(float("inf")), y * scale))


# Below this |x|, tanh's odd Taylor series to x^7 is exact in float32 (the x^9 term is < 1e-12 of x);
# above it 1 - e^(-2|x|) loses at most a few ulp to cancellation.
_TANH_SERIES_BELOW = 0.0625
_TANH_SERIES = (-17 / 315, 2 / 15, -1 / 3)


def fast_tanh(x):
    """tanh of a float32 expression through fast_exp, within 5 ulp of the exact value; vectorizes."""
    f = lambda v: tirx.const(v, "float32")
    ax = tirx.abs(x)
    e = fast_exp(f(-2.0) * ax)
    big = (f(1.0) - e) / (f(1.0) + e)
    x2 = x * x
    p = f(_TANH_SERIES[0])
    for c in _TANH_SERIES[1:]:
        p = p * x2 + f(c)
    small = x + x * x2 * p
    return tirx.Select(ax < f(_TANH_SERIES_BELOW), small, tirx.Select(x < f(0.0), -big, big))
