"""Physical tensor layouts. A channel-blocked tensor (layout NCHW8c) keeps its logical NCHW shape in the
IR, so type inference, every op's NumPy reference and the interpreter ignore layouts; codegen stores it
as [N, C/8, H, W, 8], the 8 channels of a block side by side (a vector register along channels)."""

from __future__ import annotations

import re

from ..errors import KernforgeError
from .types import TensorType

_BLOCKED = re.compile(r"NCHW(\d+)c")
PLAIN = "NCHW"


def blocked_layout(block: int) -> str:
    return f"NCHW{block}c"


def channel_block(layout: str | None) -> int | None:
    """b for an NCHW<b>c layout; None for the plain layout (None or NCHW)."""
    if layout in (None, PLAIN):
        return None
    m = _BLOCKED.fullmatch(layout)
    if m is None:
        raise KernforgeError(f"unknown layout '{layout}'; expected NCHW or NCHW<block>c, e.g. NCHW8c")
    return int(m[1])


def can_block(t: TensorType, block: int) -> bool:
    """Whether t can be stored channel-blocked: a static 4-D tensor whose channels fill whole blocks."""
    return t.rank == 4 and t.is_static and t.shape[1] % block == 0


def physical_shape(t: TensorType) -> tuple:
    """The shape codegen stores t in: [N, C/b, H, W, b] when blocked, else t's own shape."""
    b = channel_block(t.layout)
    if b is None:
        return tuple(t.shape)
    n, c, h, w = t.shape
    return (n, c // b, h, w, b)


def to_physical(x, layout: str | None):
    """A logical NumPy array stored as `layout` (ir/layouts.physical_shape)."""
    b = channel_block(layout)
    if b is None:
        return x
    n, c, h, w = x.shape
    return x.reshape(n, c // b, b, h, w).transpose(0, 1, 3, 4, 2).copy()


def to_logical(x, layout: str | None):
    """The inverse of to_physical."""
    b = channel_block(layout)
    if b is None:
        return x
    n, cb, h, w, _ = x.shape
    return x.transpose(0, 1, 4, 2, 3).reshape(n, cb * b, h, w)
