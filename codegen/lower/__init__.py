"""TE computes for IR ops, one module per op family; importing this package registers them all."""

from . import (  # noqa: F401  (imported for registration)
    activation,
    attention,
    bitcast,
    bitshift,
    bitwise,
    col2im,
    compressed_rows,
    conv,
    cumprod,
    det,
    dft,
    elementwise,
    floor_mod,
    grid_sample,
    hardmax,
    indexing,
    int8_dense,
    isinf,
    linalg,
    nm_linear,
    norm,
    pool,
    quant,
    quant_dense,
    reduction,
    reverse_sequence,
    transform,
    trig,
    unpool,
)
from .registry import LOWERINGS, Lowering, Prepack, get_lowering, lowering

__all__ = ["LOWERINGS", "Lowering", "Prepack", "get_lowering", "lowering"]
