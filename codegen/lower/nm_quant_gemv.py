"""nm_quant_linear (N:M sparse weights with quantized kept values) for a few rows of x, as hand-written
TIR. Vector lanes are output rows (the storage's row blocks). Per kept entry, two table lookups
(quant_gemv.lookup): the code's value, and the input it multiplies, picked from the m inputs of its
group broadcast along the vector (the table repeats them, so the position needs no mask). Each
quantization group's sums of code * x and of x are scaled and offset once per group."""

from __future__ import annotations

import math

from tvm import tirx
from tvm.script.ir_builder import tirx as T

from ...ir.sparse_formats import LANES, index_bits
from .quant_gemv import MAX_ROWS, TABLE_LOOKUP, code_table, lookup
from .tir_kernel import LaneVectors, local, row_tiles, rows_extern

F32 = "float32"
VECTORS_PER_TASK = 2  # vectors of output rows sharing each table of inputs


def nm_gemv_lanes(target, rows: int, k: int, outputs: int, attrs: dict) -> int | None:
    """Vector lanes of the kernel for this layer on this target, or None where it does not apply."""
    if target is None or target.kind != "llvm" or rows > MAX_ROWS:
        return None
    lanes = {512: 16, 256: 8}.get(target.vector_bits)
    n, m, bits = attrs["n"], attrs["m"], attrs["bits"]
    if lanes is None or bits > TABLE_LOOKUP[lanes][1] or m > lanes or m & (m - 1) or k % m or outputs % lanes:
        return None
    entries = k // m * n
    return lanes if (attrs["group"] or entries) % _stretch(n, m, bits) == 0 else None


def _stretch(n: int, m: int, bits: int) -> int:
    """Kept entries per unrolled stretch: whole code words, index words and groups of m inputs."""
    return math.lcm(32 // bits, 32 // index_bits(m), n)


class _NMGemv(LaneVectors):
    def __init__(self, ins, out, lanes: int, attrs: dict, k: int, vectors: int):
        self.x, self.codes, self.index, self.scale, self.offset = (T.buffer_proxy(b) for b in ins)
        self.y = T.buffer_proxy(out)
        self.lanes, self.halves, self.v = lanes, lanes // LANES, vectors
        self.n, self.m, self.bits, self.ib = attrs["n"], attrs["m"], attrs["bits"], index_bits(attrs["m"])
        self.entries = k // self.m * self.n
        self.group = attrs["group"] or self.entries
        self.span = _stretch(self.n, self.m, self.bits)

    def alloc(self) -> None:
        self.acc, self.gacc, self.xacc = (local([self.v * self.lanes]) for _ in range(3))

    def rows(self, buf, vec, column):
        """buf's 8-row blocks of the vector's rows at a column (of 8-word vectors), side by side."""
        parts = [buf[vec * self.halves + h, tirx.Ramp(column * LANES, 1, LANES)] for h in range(self.halves)]
        return parts[0] if self.halves == 1 else tirx.Shuffle(parts, list(range(self.lanes)))

    def field(self, buf, bits: int, vec, entry_base, i: int):
        """Entry entry_base + i's field of each row, in the low bits (entry_base: whole words)."""
        per = 32 // bits
        words = self.rows(buf, vec, entry_base // per + i // per)
        return tirx.shift_right(words, tirx.Broadcast(tirx.const(i % per * bits, "uint32"), self.lanes))

    def stretch(self, p, v0, base) -> None:
        for i in range(self.span):
            if i % self.n == 0:  # the next group of m inputs, repeated along the vector
                window = (base + i) // self.n * self.m
                x = self.x[p, tirx.Ramp(window, 1, self.m)]
                copies = self.lanes // self.m
                inputs = x if copies == 1 else tirx.Shuffle([x] * copies, list(range(self.lanes)))
            for r in range(self.v):
                value = lookup(code_table(self.bits, self.lanes), self.field(self.codes, self.bits, v0 + r, base, i),
                               self.lanes)
                picked = lookup(inputs, self.field(self.index, self.ib, v0 + r, base, i), self.lanes)
                self.gacc[self.at(r)] = self.gacc[self.at(r)] + value * picked
                self.xacc[self.at(r)] = self.xacc[self.at(r)] + picked

    def close(self, v0, g) -> None:
        for r in range(self.v):
            s, o = self.rows(self.scale, v0 + r, g), self.rows(self.offset, v0 + r, g)
            self.acc[self.at(r)] = self.acc[self.at(r)] + self.gacc[self.at(r)] * s + self.xacc[self.at(r)] * o
            self.gacc[self.at(r)], self.xacc[self.at(r)] = self.zeros(), self.zeros()

    def tile(self, p, v0) -> None:
        for r in range(self.v):
            for buf in (self.acc, self.gacc, self.xacc):
                buf[self.at(r)] = self.zeros()
        with T.serial(0, self.entries // self.group) as g:
            with T.serial(0, self.group // self.span) as s:
                self.stretch(p, v0, g * self.group + s * self.span)
            self.close(v0, g)
        for r in range(self.v):
            self.y[p, tirx.Ramp((v0 + r) * self.lanes, 1, self.lanes)] = self.acc[self.at(r)]


def _body(ins, out, rows: int, outputs: int, lanes: int, attrs: dict, k: int):
    vectors = outputs // lanes
    per = VECTORS_PER_TASK if vectors % VECTORS_PER_TASK == 0 else 1
    return row_tiles(_NMGemv(ins, out, lanes, attrs, k, per), vectors // per, per, rows)


def nm_quant_gemv(x, codes, index_words, scales, offsets, bias, attrs: dict, lanes: int):
    """nm_quant_linear for x [..., K] (K the last axis) with at most MAX_ROWS rows."""
    k, outputs = int(x.shape[-1]), attrs["outputs"]
    return rows_extern(x, [codes, index_words, scales, offsets], outputs, bias,
                       lambda i, o, rows: _body(i, o, rows, outputs, lanes, attrs, k), "nm_gemv")
