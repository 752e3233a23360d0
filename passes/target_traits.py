"""Facts about the compile target that a weight pass's cost rule reads. kernforge.compile sets them from
its target; passes stay free of TVM (the facts are plain values), and without them every rule is the
target-independent one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..ir.target_traits import DenseLowBitGemv

_DENSE_LOW_BIT_GEMV: ContextVar[DenseLowBitGemv | None] = ContextVar("dense_low_bit_gemv", default=None)


def dense_low_bit_gemv() -> DenseLowBitGemv | None:
    return _DENSE_LOW_BIT_GEMV.get()


@contextmanager
def target_traits(dense_gemv: DenseLowBitGemv | None) -> Iterator[None]:
    token = _DENSE_LOW_BIT_GEMV.set(dense_gemv)
    try:
        yield
    finally:
        _DENSE_LOW_BIT_GEMV.reset(token)
