"""bcq_dense (ShiftAddLLM's binary coding) for a few rows of x on AVX-512, as lookups and adds: per 4
inputs a 16-entry table of the sums of every subset of them (built once per call, shared by all rows),
and per plane and row the 4 sign bits of those inputs index it (vpermps, lanes = 16 output rows). So
sum_k bit(k) x[k] costs one shift, one lookup and one add per 4 weights of a plane; each group then
takes sum_i alpha_i (2 sum_k bit_i(k) x[k] - sum_k x[k]). Weights and scales are prepacked with the
rows innermost."""

from __future__ import annotations

import numpy as np
from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import unpack
from .quant_gemv import MAX_ROWS, group_sums, lookup
from .registry import Prepack
from .tir_kernel import LaneVectors, local, packed_input, packed_view, row_tiles, rows_extern

LANES = 16  # output rows per vector
CHUNK = 32  # inputs per word of signs
VECTORS_PER_TASK = 2
VIEW = "bcq_rows_view"


def bcq_gemv_applies(target, rows: int, k: int, n: int, group: int) -> bool:
    return (target is not None and target.kind == "llvm" and target.vector_bits >= 512 and rows <= MAX_ROWS
            and n % LANES == 0 and k % CHUNK == 0 and (group or k) % CHUNK == 0)


def sign_rows(k: int) -> Prepack:
    """Sign planes [planes, N, words] (ir/quantization.pack, 1 bit) -> [planes, K / 32, N]: bit t of word
    (c, n) is input 32 c + t of row n."""
    def pack(planes: np.ndarray) -> np.ndarray:
        bits = np.stack([unpack(p, 1, k) for p in planes]).astype(np.uint32)  # [planes, N, K]
        words = (bits.reshape(*bits.shape[:2], k // CHUNK, CHUNK) << np.arange(CHUNK, dtype=np.uint32)).sum(-1)
        return np.ascontiguousarray(words.astype(np.uint32).transpose(0, 2, 1))

    return Prepack(f"bcq_rows{k}", pack, lambda s: (s[0], k // CHUNK, s[1]), packed_view(VIEW))


ALPHA_ROWS = Prepack("bcq_alpha_rows", lambda a: np.ascontiguousarray(a.transpose(2, 1, 0)),
                     lambda s: (s[2], s[1], s[0]), packed_view(VIEW))


def packed(t: te.Tensor) -> te.Tensor | None:
    return packed_input(t, VIEW)


def subset_sums(x2: te.Tensor) -> te.Tensor:
    """table[p, c, i] = sum of x[p, 4 c + t] over the bits t set in i: [rows, K / 4, 16]."""
    def entry(p, c, i):
        return sum(tirx.Select(tirx.bitwise_and(tirx.shift_right(i, t), 1) == 1, x2[p, 4 * c + t],
                               tirx.const(0, "float32")) for t in range(4))

    return te.compute((int(x2.shape[0]), int(x2.shape[1]) // 4, 16), entry, name="bcq_subset_sums")


class _BcqGemv(LaneVectors):
    lanes = LANES

    def __init__(self, ins, out, planes: int, k: int, group: int, vectors: int):
        self.x, self.xsum, self.table, self.signs, self.alphas = (T.buffer_proxy(b) for b in ins)
        self.y = T.buffer_proxy(out)
        self.planes, self.v, self.groups, self.chunks = planes, vectors, k // (group or k), (group or k) // CHUNK

    def alloc(self) -> None:
        self.acc, self.part = local([self.v * LANES]), local([self.planes * self.v * LANES])

    def chunk(self, p, v0, c) -> None:
        """Inputs 32 c .. 32 c + 31: 8 lookups per plane and row vector."""
        words = {(q, r): self.signs[q, c, tirx.Ramp((v0 + r) * LANES, 1, LANES)]
                 for q in range(self.planes) for r in range(self.v)}
        for j in range(CHUNK // 4):
            table = self.table[p, c * 8 + j, tirx.Ramp(0, 1, LANES)]
            for (q, r), w in words.items():
                idx = w if j == 0 else tirx.shift_right(w, tirx.Broadcast(tirx.const(4 * j, "uint32"), LANES))
                slot = self.at(q * self.v + r)
                self.part[slot] = self.part[slot] + lookup(table, idx, LANES)

    def tile(self, p, v0) -> None:
        for r in range(self.v):
            self.acc[self.at(r)] = self.zeros()
        with T.serial(0, self.groups) as g:
            for i in range(self.planes * self.v):
                self.part[self.at(i)] = self.zeros()
            with T.serial(0, self.chunks) as c:
                self.chunk(p, v0, g * self.chunks + c)
            xsum = tirx.Broadcast(self.xsum[p, g], LANES)
            for r in range(self.v):
                rows = tirx.Ramp((v0 + r) * LANES, 1, LANES)
                for q in range(self.planes):
                    alpha = self.alphas[q, g, rows]
                    part = self.part[self.at(q * self.v + r)]
                    self.acc[self.at(r)] = self.acc[self.at(r)] + alpha * (part + part - xsum)
        for r in range(self.v):
            self.y[p, tirx.Ramp((v0 + r) * LANES, 1, LANES)] = self.acc[self.at(r)]


def _body(ins, out, rows: int, n: int, planes: int, k: int, group: int):
    vectors = n // LANES
    per = VECTORS_PER_TASK if vectors % VECTORS_PER_TASK == 0 else 1
    return row_tiles(_BcqGemv(ins, out, planes, k, group, per), vectors // per, per, rows)


def bcq_gemv(x, signs, alphas, bias, planes: int, group: int):
    """bcq_dense for x [..., K] with at most MAX_ROWS rows, signs and alphas prepacked (sign_rows, ALPHA_ROWS)."""
    k, n = int(x.shape[-1]), int(signs.shape[2])
    return rows_extern(x, [signs, alphas], n, bias,
                       lambda i, o, rows: _body(i, o, rows, n, planes, k, group), "bcq_gemv",
                       lambda x2: [group_sums(x2, group), subset_sums(x2)])
