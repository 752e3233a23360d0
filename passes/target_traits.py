"""Facts about the compile target that a weight pass's cost rule reads. kernforge.compile sets them from
its target; passes stay free of TVM (the facts are plain values), and without them every rule is the
target-independent one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class DenseLowBitGemv:
    """The target multiplies weight-only quantized GEMVs of these code widths faster dense than N:M
    sparse (codegen's AVX512-BF16 kernel): up to max_rows rows, inputs and groups in whole steps."""

    bits: tuple[int, ...]
    max_rows: int
    step: int

    def covers(self, bits: int, rows: int, k: int, group: int) -> bool:
        return bits in self.bits and rows <= self.max_rows and k % self.step == 0 and (group or k) % self.step == 0


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
