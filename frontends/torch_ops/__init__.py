"""ATen → kernforge IR converters, one module per ATen op family, dispatched through `registry`."""

from . import (  # noqa: F401  (imported for registration)
    activation,
    creation,
    elementwise,
    indexing,
    linalg,
    misc,
    norm,
    pool,
    reduction,
    shape,
    unary,
)
from .context import Ctx, ir_dtype, to_numpy, torch_dtype
from .registry import CONVERTERS, converts, lookup

__all__ = ["CONVERTERS", "Ctx", "converts", "ir_dtype", "lookup", "to_numpy", "torch_dtype"]
