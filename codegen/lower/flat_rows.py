"""Row-major flat indices: kernels that take x [..., K] as [rows, K] and give their result back."""

from __future__ import annotations

import math

from tvm import tirx


def flat_index(idx, dims) -> object:
    """The row-major flat index of idx in dims."""
    return sum(v * math.prod(dims[d + 1:]) for d, v in enumerate(idx)) if dims else 0


def unflat_index(r, dims) -> list:
    """The index in dims of row-major flat index r."""
    idx = []
    for d in reversed(dims):
        idx.append(tirx.floormod(r, d))
        r = tirx.floordiv(r, d)
    return list(reversed(idx))
