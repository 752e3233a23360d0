"""nm_linear for many rows of x (a GEMM) on AVX-512, as hand-written TIR. Lanes are 16 output rows;
their kept entries sit at different inputs, so each lane picks its input with one table lookup
(vpermps) from a window of 16 consecutive inputs of its row of x (16 / m groups). On Zen 4 a lookup
and an FMA take 1.33 cycles a pair, where the dense kernel spends an FMA per m / n kept entries'
worth of inputs (2:4: two FMAs, 2 cycles). Plain values are laid out at compile time with each 16-row
block's rows innermost; positions (and quantized values) stay in the format's words and are decoded once
per block into per-core scratch."""

from __future__ import annotations

from tvm import tirx
from tvm.script.ir_builder import tirx as T

from ...ir.sparse_formats import LANES, index_bits, row_unblocks
from ...ir.target_traits import LookupNMGemm
from .quant_gemv import lookup
from .registry import Prepack
from .row_block_gemm import RowBlockGemm, lane_blocks, scratch
from .tir_kernel import packed_input, packed_view, rows_extern

WINDOW = 16  # inputs a lookup picks from: one vector of x
VALUES = "nm_gemm_values"


# Density up to which the kernel beats the dense GEMM (benchmarks/sparsity.py, znver4, 128 rows: 2:4
# 1.3-1.4x, 1:4 2.3x, 2:8 2.5x; a line through them crosses 1.0x at 0.7), from 8 rows of x (4096^2 2:4
# at 8 and 16 rows 1.35x; at 4-6 rows 1.0-1.07x: the per-block decode is not yet paid off).
BREAK_EVEN, MIN_ROWS = 0.7, 8


def lookup_nm_gemm(target) -> LookupNMGemm | None:
    """What the sparsify pass's cost rule needs to know of this kernel on the target (passes/target_traits.py)."""
    ok = target is not None and target.kind == "llvm" and target.vector_bits == 512
    return LookupNMGemm(WINDOW, MIN_ROWS, BREAK_EVEN) if ok else None


def nm_gemm_applies(target, rows: int, k: int, outputs: int, attrs: dict) -> bool:
    """Whether this nm_linear (inputs on the last axis) takes the kernel on this target."""
    kernel = lookup_nm_gemm(target)
    return kernel is not None and kernel.covers(attrs["m"], rows, k, outputs)


def value_pack(outputs: int, entries: int) -> Prepack:
    return Prepack(f"nm_gemm_values{outputs}", lambda v: lane_blocks(row_unblocks(v, outputs), WINDOW),
                   lambda s: (outputs // WINDOW, entries * WINDOW), packed_view(VALUES))


def packed_values(values):
    """The placeholder value_pack made (plain values), or None where the weight is not so laid out."""
    return packed_input(values, VALUES)


class _NMGemm(RowBlockGemm):
    def __init__(self, ins, out, k: int, attrs: dict, rows: int):
        x, self.index_words, *self.weights = (T.buffer_proxy(b) for b in ins)
        super().__init__(x, T.buffer_proxy(out), rows, WINDOW)
        self.n, self.m, self.per = attrs["n"], attrs["m"], WINDOW // attrs["m"] * attrs["n"]
        self.windows, self.entries = k // WINDOW, k // WINDOW * self.per
        self.bits, self.group = attrs.get("bits"), attrs.get("group") or self.entries

    def scratch(self):
        """The block's kept entries' lanes in their windows as int32 vectors, and its quantized values
        decoded: the format's packed fields take a shift, a mask (and a convert) per 8 rows, done once
        per block rather than per tile of rows."""
        size = self.entries * WINDOW
        return [scratch(size, "int32"), scratch(size, "float32") if self.bits else None]

    def prologue(self, block, lanes, decoded):
        with T.serial(0, self.entries) as e:
            start = tirx.floormod(tirx.floordiv(e, self.n) * self.m, WINDOW)  # of the entry's group
            for h in range(WINDOW // LANES):
                at = tirx.Ramp(e * WINDOW + h * LANES, 1, LANES)
                position = self.field(self.index_words, index_bits(self.m), block, h, e)
                lanes[at] = position.astype(f"int32x{LANES}") + tirx.Broadcast(start, LANES)
                if decoded is not None:
                    decoded[at] = self.value(block, h, e)
        if decoded is not None:
            return lanes, lambda at: decoded[at]
        return lanes, lambda at: self.weights[0][block, at]

    def field(self, words, bits: int, block, h: int, e):
        """Entry e's bits-wide field of the 8 rows h of the block (sparse_formats.pack_fields)."""
        per = 32 // bits
        word = words[block * (WINDOW // LANES) + h, tirx.Ramp(tirx.floordiv(e, per) * LANES, 1, LANES)]
        shift = tirx.Broadcast((tirx.floormod(e, per) * bits).astype("uint32"), LANES)
        return tirx.bitwise_and(tirx.shift_right(word, shift), tirx.Broadcast(tirx.const((1 << bits) - 1, "uint32"),
                                                                              LANES))

    def value(self, block, h: int, e):
        """Entry e's quantized value, code * scale + offset, of the 8 rows h of the block."""
        codes, scales, offsets = self.weights
        row, group = block * (WINDOW // LANES) + h, tirx.Ramp(tirx.floordiv(e, self.group) * LANES, 1, LANES)
        code = self.field(codes, self.bits, block, h, e).astype(f"float32x{LANES}")
        return code * scales[row, group] + offsets[row, group]

    def accumulate(self, acc, weights, block, p0, count: int) -> None:
        lanes, value = weights
        with T.serial(0, self.windows) as q:
            for i in range(self.per):
                at = tirx.Ramp((q * self.per + i) * WINDOW, 1, WINDOW)
                weight, lane = value(at), lanes[at]
                for t in range(count):
                    window = self.x[p0 + t, tirx.Ramp(q * WINDOW, 1, WINDOW)]
                    acc[self.at(t)] = acc[self.at(t)] + weight * lookup(window, lane, WINDOW)


def nm_gemm(x, index_words, weights: list, bias, attrs: dict):
    """nm_linear / nm_quant_linear for x [..., K] (K the last axis), positions as stored; weights: the
    values laid out by value_pack, or the codes, scales and offsets as stored."""
    k, outputs = int(x.shape[-1]), attrs["outputs"]
    body = lambda ins, out, rows: _NMGemm(ins, out, k, attrs, rows).run(outputs)
    return rows_extern(x, [index_words, *weights], outputs, bias, body, "nm_gemm")
