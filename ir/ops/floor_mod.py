"""Floor modulo: x - floor(x / y) * y, whose result takes the divisor's sign (Python's %,
NumPy's mod, ONNX Mod with fmod=0), for floats as well as integers."""

from __future__ import annotations

import numpy as np

from .registry import BROADCAST, op
from .shape_utils import broadcast_shapes, fail, out_type, same_dtype


@op("floor_mod", operands="a, b", fusion=BROADCAST)
class FloorMod:
    """np.mod(a, b) with broadcasting; the C-style truncating remainder is op `mod` on floats."""

    @staticmethod
    def infer(a, b):
        same_dtype(a, b)
        if a.dtype.kind == "bool":
            fail("operands must be numeric, got bool")
        return out_type(a, broadcast_shapes(a.shape, b.shape))

    @staticmethod
    def reference(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.mod(a, b)
