"""Hardmax: 1 at the first maximum along an axis, 0 elsewhere (ONNX Hardmax, opset 13)."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import norm_axis, out_type


@op("hardmax", operands="x", fusion=OPAQUE, attrs={"axis": Attr("int", -1)})
class Hardmax:
    """One-hot of the argmax along axis (ties go to the first index), in x's dtype."""

    @staticmethod
    def infer(x, *, axis):
        norm_axis(axis, x.rank)
        return out_type(x)

    @staticmethod
    def reference(x, *, axis):
        axis = axis % x.ndim
        first = np.expand_dims(np.argmax(x, axis=axis), axis)
        return (np.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
                == first).astype(x.dtype)
