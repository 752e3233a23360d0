"""Shared frame of the GEMM kernels whose vector lanes are output rows (nm_gemm.py, quant_gemm.py): each
core takes blocks of `lanes` output rows; a block's prologue lays its weights out in per-core scratch
(decoded once for every row of x), then tiles of rows of x accumulate in registers."""

from __future__ import annotations

import numpy as np
from tvm import tirx
from tvm.script.ir_builder import tirx as T

from .tir_kernel import LaneVectors, local, per_core

TOKENS = 12  # rows of x a tile (a subclass's default): accumulators (and, for lookups, windows of x) in 32 registers


def lane_blocks(a: np.ndarray, lanes: int) -> np.ndarray:
    """[N, F] -> [ceil(N / lanes), F * lanes]: entry f of row o at [o // lanes, f * lanes + o % lanes];
    rows past N are zero."""
    blocks, count = -(-a.shape[0] // lanes), a.shape[1]
    padded = np.zeros((blocks * lanes, count), a.dtype)
    padded[:a.shape[0]] = a
    return np.ascontiguousarray(padded.reshape(blocks, lanes, count).transpose(0, 2, 1)).reshape(blocks, -1)


def scratch(size: int, dtype: str):
    """A per-core buffer for one block's weights (the workspace pool: too large for registers or stack)."""
    return T.buffer_proxy(T.alloc_buffer([size], dtype, scope="global"))


class RowBlockGemm(LaneVectors):
    """Subclasses define scratch() (buffers the prologue fills), prologue(block, *scratch) -> weights,
    and accumulate(acc, weights, block, p0, count): acc[t, v] += row p0 + t of x times vector v of the
    block's weights (a block: `vectors` vectors of `lanes` output rows)."""

    tokens = TOKENS

    def __init__(self, x, y, rows: int, lanes: int, vectors: int = 1):
        self.x, self.y, self.rows, self.lanes, self.vectors = x, y, rows, lanes, vectors

    def alloc(self):
        return local([self.tokens * self.vectors * self.lanes]), *self.scratch()

    def acc_at(self, t: int, v: int = 0):
        return self.at(t * self.vectors + v)

    def block(self, block, buffers) -> None:
        acc, *rest = buffers
        weights = self.prologue(block, *rest)
        full, left = divmod(self.rows, self.tokens)
        with T.serial(0, full) as span:
            self.tile(acc, weights, block, span * self.tokens, self.tokens)
        if left:
            self.tile(acc, weights, block, full * self.tokens, left)

    def tile(self, acc, weights, block, p0, count: int) -> None:
        for t in range(count * self.vectors):
            acc[self.at(t)] = self.zeros()
        self.accumulate(acc, weights, block, p0, count)
        for t in range(count):
            for v in range(self.vectors):
                at = tirx.Ramp((block * self.vectors + v) * self.lanes, 1, self.lanes)
                self.y[p0 + t, at] = acc[self.acc_at(t, v)]

    def run(self, outputs: int):
        return per_core(outputs // (self.lanes * self.vectors), self.alloc, self.block)
