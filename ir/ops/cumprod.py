"""Running product along an axis (ONNX CumProd), the multiplicative sibling of cumsum."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, norm_axis, out_type


@op("cumprod", operands="x", fusion=OPAQUE,
    attrs={"axis": Attr("int"), "exclusive": Attr("bool", False), "reverse": Attr("bool", False)})
class CumProd:
    """Running product; exclusive starts from 1 (leaves out the current element), reverse runs from the end."""

    @staticmethod
    def infer(x, *, axis, exclusive, reverse):
        if x.dtype.kind == "bool":
            fail("operand must be numeric, got bool")
        norm_axis(axis, x.rank)
        return out_type(x)

    @staticmethod
    def reference(x, *, axis, exclusive, reverse):
        axis = axis % x.ndim
        y = np.flip(x, axis) if reverse else x
        out = np.cumprod(y, axis=axis, dtype=x.dtype)
        if exclusive:
            ones = np.ones_like(np.take(out, [0], axis=axis))
            out = np.concatenate([ones, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
        return np.flip(out, axis) if reverse else out
