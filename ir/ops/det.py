"""Det: the determinant of each square matrix in a batch (ONNX Det)."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, op
from .shape_utils import fail, need_float, out_type


@op("det", operands="x", fusion=OPAQUE)
class Det:
    """x: [..., M, M] -> [...]."""

    @staticmethod
    def infer(x):
        need_float(x)
        if x.rank < 2 or (isinstance(x.shape[-1], int) and isinstance(x.shape[-2], int) and x.shape[-1] != x.shape[-2]):
            fail(f"operand must be a batch of square matrices, got {x}")
        return out_type(x, x.shape[:-2])

    @staticmethod
    def reference(x):
        return np.linalg.det(x.astype(np.float64)).astype(x.dtype)
