"""IsInf: where a float tensor holds +inf and/or -inf (ONNX IsInf)."""

from __future__ import annotations

import numpy as np

from ..types import boolean
from .registry import ELEMWISE, Attr, op
from .shape_utils import need_float, out_type


@op("is_inf", operands="x", fusion=ELEMWISE,
    attrs={"detect_negative": Attr("bool", True), "detect_positive": Attr("bool", True)})
class IsInf:
    """True where x is an infinity of a detected sign."""

    @staticmethod
    def infer(x, *, detect_negative, detect_positive):
        need_float(x)
        return out_type(x, dt=boolean)

    @staticmethod
    def reference(x, *, detect_negative, detect_positive):
        return (np.isposinf(x) & detect_positive) | (np.isneginf(x) & detect_negative)
