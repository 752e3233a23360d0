"""TE compute for dft as a direct O(n^2) sum in float64: each bin is a reduction over the signal
(or, for an inverse onesided transform, over the half spectrum, read as a Hermitian one)."""

from __future__ import annotations

import math

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from .registry import lowering

_F64 = "float64"


def _angle(k, t, length: int):
    """2 pi k t / length, with k t reduced mod length in integers so that the angle stays exact."""
    kt = tirx.floormod(k.astype("int64") * t.astype("int64"), length)
    return kt.astype(_F64) * tirx.const(2 * math.pi / length, _F64)


def _signal(x, axis: int):
    """(re, im) at index i with position t along axis, widened to float64; real signals have im 0."""
    complex_ = int(x.shape[-1]) == 2

    def at(i, t, ch):
        return x(*[t if d == axis else ch if d == len(i) - 1 else v for d, v in enumerate(i)]).astype(_F64)

    return lambda i, t: (at(i, t, 0), at(i, t, 1) if complex_ else tirx.const(0, _F64))


def _complex_dft(x, axis: int, length: int, inverse: bool, out_shape):
    sign = 1 if inverse else -1  # the exponent's sign: e^(sign i theta)
    scale = tirx.const(1 / length if inverse else 1, _F64)
    signal = _signal(x, axis)
    t = te.reduce_axis((0, min(int(x.shape[axis]), length)), name="t")  # the signal, cropped or zero-padded

    def body(*i):
        theta = _angle(i[axis], t, length)
        cos, sin = tirx.cos(theta), tirx.const(sign, _F64) * tirx.sin(theta)
        re, im = signal(i, t)
        v = tirx.Select(i[-1] == 0, re * cos - im * sin, im * cos + re * sin)
        return te.sum(v * scale, axis=t)

    acc = te.compute(out_shape, body, name="dft_sum")
    return te.compute(out_shape, lambda *i: acc(*i).astype(x.dtype), name="dft")


def _inverse_onesided(x, axis: int, length: int, out_shape):
    """irfft: bins 1 .. ceil(length / 2) - 1 stand for their conjugate twins as well (weight 2); the
    imaginary parts of bins 0 and length / 2 drop out, as in NumPy."""
    signal, half = _signal(x, axis), length // 2
    k = te.reduce_axis((0, min(int(x.shape[axis]), half + 1)), name="k")

    def body(*i):
        theta = _angle(k, i[axis], length)
        re, im = signal(i, k)
        lone = tirx.any(k == 0, k * 2 == length)
        weight = tirx.Select(lone, tirx.const(1, _F64), tirx.const(2, _F64))
        v = re * tirx.cos(theta) - tirx.Select(lone, tirx.const(0, _F64), im * tirx.sin(theta))
        return te.sum(weight * v * tirx.const(1 / length, _F64), axis=k)

    acc = te.compute(out_shape, body, name="irfft_sum")
    return te.compute(out_shape, lambda *i: acc(*i).astype(x.dtype), name="dft")


@lowering("dft", rule="reduce")
def _dft(ins, attrs, out_types):
    (x,) = ins
    axis, length = norm_axis(attrs["axis"], len(x.shape)), attrs["length"]
    out_shape = list(out_types[0].shape)
    if attrs["inverse"] and attrs["onesided"]:
        return _inverse_onesided(x, axis, length, out_shape)
    return _complex_dft(x, axis, length, attrs["inverse"], out_shape)
