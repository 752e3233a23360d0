"""Numerics shared by op references: half-precision inputs are computed in float32."""

from __future__ import annotations

import numpy as np


def upcast(x: np.ndarray) -> np.ndarray:
    """Half-precision floats as float32 (exp, log, sums and dot products lose too much in f16)."""
    return x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize < 4 or _is_bf16(x) else x


def _is_bf16(x: np.ndarray) -> bool:
    return x.dtype.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2")
