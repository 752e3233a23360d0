"""layout_transform: the same tensor stored in another physical layout (ir/layouts.py). Logically the
identity; the layout pass puts one wherever a blocked tensor meets an op that wants the plain one."""

from __future__ import annotations

import numpy as np

from ..layouts import can_block, channel_block
from ..types import TensorType
from .registry import OPAQUE, Attr, op
from .shape_utils import fail


@op("layout_transform", operands="x", fusion=OPAQUE, attrs={"layout": Attr("str")})
class LayoutTransform:
    """x re-stored in `layout` (NCHW, or NCHW<b>c for a 4-D tensor whose channels fill whole blocks)."""

    @staticmethod
    def infer(x, *, layout):
        b = channel_block(layout)
        if b is not None and not can_block(x, b):
            fail(f"cannot store {x} as {layout}: needs a static 4-D tensor with channels a multiple of {b}")
        return TensorType(x.shape, x.dtype, None if b is None else layout)

    @staticmethod
    def reference(x, *, layout):
        return np.array(x, copy=True)

