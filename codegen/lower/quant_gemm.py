"""Weight-only quant_dense over many rows of x (a GEMM), as hand-written TIR. Lanes are output rows:
each block's codes are decoded once into float32 (code * scale + offset, in per-core scratch), then
every tile of rows of x runs an outer-product loop, one FMA per input with x broadcast from memory.
Decoding costs ~1/rows of the FMAs, so the GEMM runs at the float32 kernel's rate on fewer bytes.
Codes are laid out at compile time with the block's rows innermost: one vector of words holds `per`
codes of every row, so decoding is a shift, a mask and a convert per input."""

from __future__ import annotations

import numpy as np
from tvm import tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import unpack
from .quant_gemv import MAX_ROWS
from .registry import Prepack
from .row_block_gemm import TOKENS, RowBlockGemm, lane_blocks, scratch
from .tir_kernel import packed_input, packed_view, rows_extern

# Rows of x from which the kernel runs: past the GEMV kernels' (4096^2 w4g128, 5-7 rows: 1.17-1.51 ms
# against 2.46-3.45 for the TE kernel; at 2 and 4 rows the GEMV kernels are faster, 0.52 / 0.95 ms)
MIN_ROWS = MAX_ROWS + 1
UNROLL = 4  # inputs per iteration of the inner loop
# A block is up to 3 vectors of output rows (each broadcast of x feeds one FMA per vector); a tile's
# accumulators fill 3/4 of the registers: AVX-512, 128 x 3072 @ 3072^2 w4g128 measured 0.86x float32
# with 1 x 12, 1.06x with 2 x 12, 1.14x with 3 x 8 (0.97x at 768^2 with either); AVX2 (znver3 target)
# 3 x 4 1.17x (1.00x at 768^2).
VECTORS = (3, 2, 1)
ACCUMULATORS = {16: 24, 8: 12}  # by lanes: 32 or 16 registers (AVX2, 24 accumulators spilled: 0.46x -> 1.00x)
CODES, GRID = "quant_gemm_codes", "quant_gemm_grid"


def quant_gemm_lanes(target, rows: int) -> int | None:
    """Vector lanes (output rows a vector) of the kernel for this many rows of x on this target, or None.
    Outputs past the last whole vector are padded: zero codes, scales and offsets."""
    if target is None or target.kind != "llvm" or rows < MIN_ROWS:
        return None
    return {512: 16, 256: 8}.get(target.vector_bits)


def pack_rows(words: np.ndarray, bits: int, k: int, lanes: int) -> np.ndarray:
    """Codes packed by ir/quantization.pack -> [ceil(N / lanes), W * lanes] u32: word w of row o holds its codes
    w * per .. w * per + per - 1 (per = 32 // bits) at bit j * bits, rows innermost."""
    per = 32 // bits
    codes = np.zeros((words.shape[0], -(-k // per) * per), np.uint32)
    codes[:, :k] = unpack(words, bits, k)
    shifted = codes.reshape(words.shape[0], -1, per) << (np.arange(per, dtype=np.uint32) * bits)
    return lane_blocks(np.bitwise_or.reduce(shifted, axis=-1).astype(np.uint32), lanes)


def code_pack(bits: int, k: int, lanes: int) -> Prepack:
    words = -(-k // (32 // bits))
    return Prepack(f"quant_gemm_codes{bits}k{k}x{lanes}", lambda w: pack_rows(w, bits, k, lanes),
                   lambda s: (-(-s[0] // lanes), words * lanes), packed_view(CODES))


def grid_pack(lanes: int) -> Prepack:
    """Scales or offsets [N, groups] with rows innermost."""
    return Prepack(f"quant_gemm_grid{lanes}", lambda a: lane_blocks(a, lanes),
                   lambda s: (-(-s[0] // lanes), s[1] * lanes), packed_view(GRID))


def packed(words, scales, offsets):
    """The placeholders code_pack and grid_pack made, or None where the weight is not so laid out."""
    laid_out = packed_input(words, CODES), packed_input(scales, GRID), packed_input(offsets, GRID)
    return laid_out if all(t is not None for t in laid_out) else None


class _QuantGemm(RowBlockGemm):
    def __init__(self, ins, out, rows: int, lanes: int, vectors: int, k: int, bits: int, group: int):
        x, self.words, self.scales, self.offsets = (T.buffer_proxy(b) for b in ins)
        super().__init__(x, T.buffer_proxy(out), rows, lanes, vectors)
        self.tokens = min(TOKENS, ACCUMULATORS[lanes] // vectors)
        self.k, self.bits, self.per = k, bits, 32 // bits
        self.group, self.groups = group or k, k // (group or k)

    def scratch(self):
        return [scratch(-(-self.k // self.per) * self.per * self.vectors * self.lanes, "float32")]

    def prologue(self, block, decoded):
        """Input k of vector v of the block's rows at decoded[(k * vectors + v) * lanes]."""
        mask = tirx.Broadcast(tirx.const((1 << self.bits) - 1, "uint32"), self.lanes)
        with T.serial(0, -(-self.k // self.per)) as w:
            for v in range(self.vectors):
                rows = block * self.vectors + v
                words = self.words[rows, tirx.Ramp(w * self.lanes, 1, self.lanes)]
                for j in range(self.per):
                    shift = tirx.Broadcast(tirx.const(j * self.bits, "uint32"), self.lanes)
                    code = tirx.bitwise_and(tirx.shift_right(words, shift), mask)
                    g = tirx.min(tirx.floordiv(w * self.per + j, self.group), self.groups - 1)  # padding: any group
                    at = tirx.Ramp(g * self.lanes, 1, self.lanes)
                    value = code.astype(f"float32x{self.lanes}") * self.scales[rows, at] + self.offsets[rows, at]
                    decoded[tirx.Ramp(((w * self.per + j) * self.vectors + v) * self.lanes, 1, self.lanes)] = value
        return decoded

    def accumulate(self, acc, decoded, block, p0, count: int) -> None:
        unroll = UNROLL if self.k % UNROLL == 0 else 1
        with T.serial(0, self.k // unroll) as kk:
            for u in range(unroll):
                k = kk * unroll + u
                weights = [decoded[tirx.Ramp((k * self.vectors + v) * self.lanes, 1, self.lanes)]
                           for v in range(self.vectors)]
                for t in range(count):
                    x = tirx.Broadcast(self.x[p0 + t, k], self.lanes)
                    for v, weight in enumerate(weights):
                        acc[self.acc_at(t, v)] = acc[self.acc_at(t, v)] + weight * x


def quant_gemm(x, words, scales, offsets, bias, outputs: int, bits: int, group: int, lanes: int):
    """quant_dense for x [..., K] with at least MIN_ROWS rows, weights laid out by code_pack and grid_pack."""
    k, columns = int(x.shape[-1]), int(words.shape[0]) * lanes
    vectors = next(v for v in VECTORS if columns % (v * lanes) == 0)
    body = lambda ins, out, rows: _QuantGemm(ins, out, rows, lanes, vectors, k, bits, group).run(columns)
    return rows_extern(x, [words, scales, offsets], outputs, bias, body, "quant_gemm", columns=columns)
