"""The lowering registry: op name -> TE compute, plus the schedule rule a kernel anchored on it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import UnsupportedOpError

# compute(inputs: list[te.Tensor], attrs: dict, out_types: list[TensorType]) -> te.Tensor | list[te.Tensor]
Compute = Callable[..., object]


@dataclass(frozen=True)
class Lowering:
    """How one IR op becomes TE: its compute and the schedule rule for kernels it anchors."""

    op: str
    compute: Compute
    rule: str


LOWERINGS: dict[str, Lowering] = {}


def lowering(*ops: str, rule: str = "injective"):
    """Decorator registering one compute function for one or more ops."""

    def wrap(fn: Compute) -> Compute:
        for op in ops:
            if op in LOWERINGS:
                raise ValueError(f"lowering for {op} registered twice")
            LOWERINGS[op] = Lowering(op, fn, rule)
        return fn

    return wrap


def get_lowering(op: str) -> Lowering:
    try:
        return LOWERINGS[op]
    except KeyError:
        raise UnsupportedOpError(f"op '{op}' has no TVM lowering yet") from None
