"""Bit shifts of integers (ONNX BitShift): shifts outside [0, bit width) give 0, or -1 for a
right shift of a negative signed value; left shifts wrap like unsigned hardware shifts."""

from __future__ import annotations

import numpy as np

from .registry import BROADCAST, op
from .shape_utils import broadcast_shapes, fail, out_type, same_dtype


def _infer(a, b):
    same_dtype(a, b)
    if not a.dtype.is_int or a.dtype.bits < 8:
        fail(f"operands must be 8- to 64-bit integers, got {a.dtype}")
    return out_type(a, broadcast_shapes(a.shape, b.shape))


def _shift(a: np.ndarray, b: np.ndarray, left: bool) -> np.ndarray:
    """Shift with ONNX semantics for out-of-range amounts (see the module docstring)."""
    a, b = np.broadcast_arrays(a, b)
    width = a.dtype.itemsize * 8
    valid = (b >= 0) & (b < width)
    amount = np.where(valid, b, 0).astype(np.dtype(f"u{a.dtype.itemsize}"))
    if left:
        unsigned = a.view(amount.dtype) if a.dtype.kind == "i" else a
        out = np.left_shift(unsigned, amount.astype(unsigned.dtype)).view(a.dtype)
        return np.where(valid, out, 0).astype(a.dtype)
    out = np.right_shift(a, amount.astype(a.dtype))
    overflow = np.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
    return np.where(valid, out, overflow).astype(a.dtype)


@op("shift_left", operands="a, b", fusion=BROADCAST)
class ShiftLeft:
    """a << b with NumPy broadcasting; the bits shifted out are lost."""

    infer = staticmethod(_infer)

    @staticmethod
    def reference(a, b):
        return _shift(a, b, left=True)


@op("shift_right", operands="a, b", fusion=BROADCAST)
class ShiftRight:
    """a >> b with NumPy broadcasting; arithmetic (sign-filling) for signed types."""

    infer = staticmethod(_infer)

    @staticmethod
    def reference(a, b):
        return _shift(a, b, left=False)
