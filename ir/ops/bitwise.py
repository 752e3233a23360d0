"""Bitwise logic on integer tensors (bools use logical_and / logical_or / ... instead)."""

from __future__ import annotations

import numpy as np

from .registry import ELEMWISE, OpDef, register
from .shape_utils import broadcast_shapes, fail, out_type, same_dtype


def _need_int(*types) -> None:
    for t in types:
        if not t.dtype.is_int:
            fail(f"operands must be integers, got {t.dtype}")


def _binary_infer(a, b):
    same_dtype(a, b)
    _need_int(a, b)
    return out_type(a, broadcast_shapes(a.shape, b.shape))


def _not_infer(x):
    _need_int(x)
    return out_type(x)


for _name, _fn in {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
                   "bitwise_xor": np.bitwise_xor}.items():
    register(OpDef(_name, ("a", "b"), {}, ELEMWISE, _binary_infer, _fn,
                   doc=f"Elementwise {_name} of integer tensors, with NumPy broadcasting."))

register(OpDef("bitwise_not", ("x",), {}, ELEMWISE, _not_infer, np.invert,
               doc="Elementwise bitwise complement of an integer tensor."))
