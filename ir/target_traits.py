"""Facts about a compile target that IR rewrites may weigh (plain values: codegen describes its kernels
with them, passes read them through passes/target_traits.py)."""

from __future__ import annotations

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
