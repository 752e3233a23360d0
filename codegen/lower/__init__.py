"""TE computes for IR ops, one module per op family; importing this package registers them all."""

from . import elementwise  # noqa: F401
from .registry import LOWERINGS, Lowering, get_lowering, lowering

__all__ = ["LOWERINGS", "Lowering", "get_lowering", "lowering"]
