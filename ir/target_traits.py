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


@dataclass(frozen=True)
class LookupNMGemm:
    """The target multiplies N:M weights over at least min_rows input rows with a lookup kernel (codegen's
    AVX-512 nm_gemm), faster than dense up to break_even density: groups of m inputs tile windows of
    `window` inputs; inputs and outputs come in whole windows."""

    window: int
    min_rows: int
    break_even: float

    def covers(self, m: int, rows: int, k: int, outputs: int) -> bool:
        return self.window % m == 0 and rows >= self.min_rows and k % self.window == 0 and outputs % self.window == 0


@dataclass(frozen=True)
class TargetTraits:
    """What the target's kernels do best, as far as the weight passes' cost rules ask (None: no such kernel)."""

    dense_low_bit_gemv: DenseLowBitGemv | None = None
    lookup_nm_gemm: LookupNMGemm | None = None
