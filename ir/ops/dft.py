"""DFT: discrete Fourier transform along an axis of a signal held as real values [..., 1] or
(real, imaginary) pairs [..., 2] (ONNX DFT)."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, need_float, norm_axis, out_type


def dft_shape(shape, axis: int, length: int, inverse: bool, onesided: bool) -> tuple:
    out = list(shape)
    out[axis] = length // 2 + 1 if onesided and not inverse else length
    out[-1] = 1 if inverse and onesided else 2
    return tuple(out)


@op("dft", operands="x", fusion=OPAQUE, attrs={
    "axis": Attr("int", -2), "length": Attr("int"), "inverse": Attr("bool", False), "onesided": Attr("bool", False)})
class DFT:
    """Forward: length bins (or length // 2 + 1 when onesided). Inverse: the normalized inverse;
    with onesided the input holds half a Hermitian spectrum and the result is real."""

    @staticmethod
    def infer(x, *, axis, length, inverse, onesided):
        need_float(x)
        a = norm_axis(axis, x.rank)
        if x.rank < 2 or a == x.rank - 1 or x.shape[-1] not in (1, 2, None) or length < 1:
            fail(f"expected a signal [..., 1 or 2] transformed along another axis, got {x} (axis {axis})")
        return out_type(x, dft_shape(x.shape, a, length, inverse, onesided))

    @staticmethod
    def reference(x, *, axis, length, inverse, onesided):
        a = axis % x.ndim
        # Single precision for f32 and narrower, as NumPy's FFT of complex64 (and ONNX's tests) do.
        ctype = np.complex128 if x.dtype == np.float64 else np.complex64
        signal = x[..., 0].astype(ctype)
        if x.shape[-1] == 2:
            signal = signal + np.complex64(1j) * x[..., 1].astype(ctype)
        if inverse and onesided:
            return np.fft.irfft(signal, n=length, axis=a)[..., None].astype(x.dtype)
        y = np.fft.ifft(signal, n=length, axis=a) if inverse else np.fft.fft(signal, n=length, axis=a)
        if onesided and not inverse:
            y = np.take(y, np.arange(length // 2 + 1), axis=a)
        return np.stack([y.real, y.imag], axis=-1).astype(x.dtype)
