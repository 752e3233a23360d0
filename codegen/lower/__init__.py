"""TE computes for IR ops, one module per op family; importing this package registers them all."""

from . import elementwise  # noqa: F401
from . import activation, indexing, norm, reduction, transform  # noqa: F401
from .registry import LOWERINGS, Lowering, Prepack, get_lowering, lowering

__all__ = ["LOWERINGS", "Lowering", "Prepack", "get_lowering", "lowering"]
