"""The lowering registry: op name -> TE compute, the schedule rule a kernel anchored on it uses, and the
compile-time layouts (prepacks) it wants for weight operands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from ...errors import UnsupportedOpError

# compute(inputs: list[te.Tensor], attrs: dict, out_types: list[TensorType]) -> te.Tensor | list[te.Tensor]
Compute = Callable[..., object]


@dataclass(frozen=True)
class Prepack:
    """A weight layout made once at compile time: NumPy packing, the packed shape, and the TE view
    (packed placeholder, logical shape) -> logical tensor through which the compute reads it."""

    name: str
    pack: Callable[[np.ndarray], np.ndarray]
    shape: Callable[[tuple], tuple]
    view: Callable[..., object]


# prepack(operand types, attrs, result types, indices of operands computed inside the kernel)
# -> {operand index: Prepack}; applied only to Param operands with data.
PrepackChoice = Callable[[list, dict, list, frozenset], dict[int, Prepack]]


@dataclass(frozen=True)
class Lowering:
    """How one IR op becomes TE: its compute, the schedule rule for kernels it anchors, its prepacks."""

    op: str
    compute: Compute
    rule: str
    prepack: PrepackChoice | None = None
    # attrs -> a CPU feature the compute's hand-written intrinsics need (e.g. "avx2"), or None
    requires: Callable[[dict], str | None] | None = None


LOWERINGS: dict[str, Lowering] = {}


def lowering(*ops: str, rule: str = "injective", prepack: PrepackChoice | None = None,
             requires: Callable[[dict], str | None] | None = None):
    """Decorator registering one compute function for one or more ops."""

    def wrap(fn: Compute) -> Compute:
        for op in ops:
            if op in LOWERINGS:
                raise ValueError(f"lowering for {op} registered twice")
            LOWERINGS[op] = Lowering(op, fn, rule, prepack, requires)
        return fn

    return wrap


def get_lowering(op: str) -> Lowering:
    try:
        return LOWERINGS[op]
    except KeyError:
        raise UnsupportedOpError(f"op '{op}' has no TVM lowering yet") from None


# The target a kernel is lowered for: most computes are target-neutral (schedules specialize them); the
# few that are hand-written TIR for a vector width read it here.
_TARGET: ContextVar = ContextVar("lowering_target", default=None)


def lowering_target():
    """The codegen Target kernels are planned and lowered for (None outside kernforge.compile's planning
    and build_primfunc): prepack choices and computes that depend on it must agree."""
    return _TARGET.get()


@contextmanager
def lowering_for(target) -> Iterator[None]:
    token = _TARGET.set(target)
    try:
        yield
    finally:
        _TARGET.reset(token)
