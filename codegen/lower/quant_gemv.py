"""Weight-only quant_dense for a few rows of x (GEMV: LLM decoding), as hand-written TIR. A vector of
codes costs one shift and one in-register table lookup: vpermps indexes a table of the code values
with each lane's low bits, so codes of 2, 3 and 4 bits (2 and 3 on AVX2) need neither a mask nor an
int -> float conversion, and the bits above a code are ignored. 4-bit codes on AVX2 (too many for its
8-entry table) are masked in place and converted, x scaled by 2^-offset of each code's field: no
shift. Each group's partial dot products stay in registers and are scaled once per group;
ROWS_PER_TASK weight rows share each vector of x."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import LANES as PACKED
from .tir_kernel import LaneVectors, local, row_tiles, rows_extern

F32 = "float32"
MAX_ROWS = 4  # rows of x up to which each row streams the weights once; more take the TE GEMM
ROWS_PER_TASK = 4  # weight rows sharing each vector of x (accumulators: 2 vectors a row)
MIN_UNROLL, MAX_UNROLL = 16, 80  # vectors of codes in one unrolled stretch of the loop
# vector lanes -> (table lookup intrinsic, index bits it reads)
TABLE_LOOKUP = {16: ("llvm.x86.avx512.permvar.sf.512", 4), 8: ("llvm.x86.avx2.permps", 3)}


def lookup(table, words, lanes: int):
    """table[words & (lanes - 1)] lane by lane (vpermps): the bits above the low log2(lanes) are ignored."""
    return tirx.call_llvm_pure_intrin(f"float32x{lanes}", TABLE_LOOKUP[lanes][0], table,
                                      tirx.reinterpret(f"int32x{lanes}", words))


def code_table(bits: int, lanes: int):
    """The value of each bits-wide code, repeated to fill the lanes (a constant vector)."""
    mask = tirx.Broadcast((1 << bits) - 1, lanes)
    return tirx.Cast(f"float32x{lanes}", tirx.bitwise_and(tirx.Ramp(0, 1, lanes), mask))


def gemv_lanes(target, rows: int, k: int, group: int, bits: int) -> int | None:
    """Vector lanes of the GEMV kernel for this shape on this target, or None where it does not apply."""
    if target is None or target.kind != "llvm" or rows > MAX_ROWS:
        return None
    lanes = {512: 16, 256: 8}.get(target.vector_bits)
    # 8-bit codes take the masked form: as fast as the TE kernel's shift, mask and convert when the weights
    # are cached (0.378 vs 0.379 ms), faster from memory with the prefetch (0.552 -> 0.394 ms; GPT-2-small
    # decode w8 6.56 -> 4.11 ms)
    if lanes is None or k % lanes or (group or k) % lanes:
        return None
    return lanes if _stretch(lanes, k, group, bits) else None


def _stretch(lanes: int, k: int, group: int, bits: int) -> int | None:
    """Vectors of codes per unrolled stretch: whole packed blocks and whole groups, so that every shift
    and every group's end is known when the code is written; None if that is too long."""
    per_block = 32 // bits // (lanes // PACKED)
    if not group or group == k:
        return per_block * max(1, MIN_UNROLL // per_block)
    span = math.lcm(per_block, group // lanes)
    span *= max(1, MIN_UNROLL // span)
    return span if span <= MAX_UNROLL else None


# How far ahead the GEMV kernels prefetch weights: a tile (4 rows) of GPT-2's 768-input layers is 1.5 KB,
# too close to hide memory latency; GPT-2-small decode w4g128 3.49-3.76 -> 2.84-3.17 ms with 8 KB (4-16
# KB alike). 4096-input rows (8 KB a tile) keep prefetching the next tile.
PREFETCH_BYTES = 8192


class _Gemv(LaneVectors):
    """y[p, n] = sum_g scale[n, g] * sum_{k in g} code[n, k] x[p, k] + offset[n, g] * xsum[p, g]."""

    def __init__(self, ins, out, lanes: int, k: int, group: int, bits: int, rows_per_task: int):
        self.lanes, self.bits, self.r = lanes, bits, rows_per_task
        self.masked = masked(bits, lanes)
        x, self.xsum, *rest = (T.buffer_proxy(b) for b in ins)
        # masked: x scaled by each code position's 2^-shift, since the kernel multiplies unshifted codes
        self.x = rest.pop(0) if self.masked else x
        self.words, self.scale, self.offset = rest
        self.y = T.buffer_proxy(out)
        self.halves = lanes // PACKED  # packed 8-word vectors per vector of codes
        self.per_block = 32 // bits // self.halves
        self.vectors, self.group_vectors = k // lanes, (group or k) // lanes
        self.span = _stretch(lanes, k, group, bits)

    def decode(self, n, block, first: int):
        """Codes first.. of a packed block (one per 8 lanes) as float32 lanes."""
        words = self.words[n, tirx.Ramp(block * PACKED, 1, PACKED)]
        shifts = [tirx.Broadcast(tirx.const((first + h) * self.bits, "uint32"), PACKED) for h in range(self.halves)]
        if self.halves > 1:
            words = tirx.Shuffle([words] * self.halves, list(range(self.lanes)))
            shifts = [tirx.Shuffle(shifts, list(range(self.lanes)))]
        if self.masked:
            return self.masked_codes(words, first)
        return lookup(code_table(self.bits, self.lanes), tirx.shift_right(words, shifts[0]), self.lanes)

    def masked_codes(self, words, first: int):
        """code * 2^shift as float32: a mask and an int -> float conversion, no shift; on AVX2 the top
        field also shifts down (the conversion is signed there: its top bit would be the sign)."""
        masks = [tirx.Broadcast(tirx.const(((1 << self.bits) - 1) << ((first + h) * self.bits), "uint32"), PACKED)
                 for h in range(self.halves)]
        mask = masks[0] if self.halves == 1 else tirx.Shuffle(masks, list(range(self.lanes)))
        fields = tirx.bitwise_and(words, mask)
        if self.lanes > 8:
            return tirx.Cast(f"float32x{self.lanes}", fields)  # unsigned: vcvtudq2ps
        if (first + 1) * self.bits == 32:
            fields = tirx.shift_right(fields, tirx.Broadcast(tirx.const(self.bits, "uint32"), 8))
        return tirx.Cast("float32x8", tirx.reinterpret("int32x8", fields))

    def stretch(self, p, n0, base, count: int, closes: bool) -> None:
        """Vectors base .. base + count (base a multiple of the stretch), closing each group that ends."""
        for i in range(count):
            v = base + i
            xv = self.x[p, tirx.Ramp(v * self.lanes, 1, self.lanes)]
            block = base // self.per_block + i // self.per_block
            if i % self.per_block == 0:
                self.prefetch(n0, block * PACKED)
            for r in range(self.r):
                code = self.decode(n0 + r, block, i % self.per_block * self.halves)
                self.gacc[self.at(r)] = self.gacc[self.at(r)] + code * xv
            if closes and (i + 1) % self.group_vectors == 0:
                self.close(p, n0, base // self.group_vectors + i // self.group_vectors)

    def prefetch(self, n0, word) -> None:
        """Ask for this word of the rows PREFETCH_BYTES ahead (at least the next tile's), into L2: the memory
        latency hides behind this tile's work. Decoding streams weights from memory: 4096 w4g128 GEMV with
        the caches evicted 0.42-0.45 -> 0.37 ms (AVX2), 0.44-0.51 -> 0.30-0.33 (bf16); already cached, up
        to ~12% slower."""
        ahead = max(1, PREFETCH_BYTES // (int(self.words.shape[1]) * 4 * self.r))  # tiles
        for r in range(self.r):
            n = tirx.min(n0 + r + self.r * ahead, self.words.shape[0] - 1)
            T.evaluate(tirx.call_llvm_intrin("void", "llvm.prefetch.p0", tirx.address_of(self.words[n, word]),
                                             tirx.const(0, "int32"), tirx.const(2, "int32"), tirx.const(1, "int32")))

    def close(self, p, n0, g) -> None:
        for r in range(self.r):
            scale = tirx.Broadcast(self.scale[n0 + r, g], self.lanes)
            self.acc[self.at(r)] = self.acc[self.at(r)] + self.gacc[self.at(r)] * scale
            self.gacc[self.at(r)] = self.zeros()
            self.off[r] = self.off[r] + self.offset[n0 + r, g] * self.xsum[p, g]

    def alloc(self) -> None:
        """Accumulators, once per core: buffers inside a parallel loop's iterations are allocated per iteration."""
        self.acc, self.gacc, self.off = local([self.r * self.lanes]), local([self.r * self.lanes]), local([self.r])

    def tile(self, p, n0) -> None:
        for r in range(self.r):
            self.acc[self.at(r)], self.gacc[self.at(r)], self.off[r] = self.zeros(), self.zeros(), tirx.const(0, F32)
        self.accumulate(p, n0)
        for r in range(self.r):
            lanes = [self.acc[r * self.lanes + i] for i in range(self.lanes)]
            self.y[p, n0 + r] = sum(lanes[1:], lanes[0]) + self.off[r]

    def accumulate(self, p, n0) -> None:
        """Every group's scaled dot products into acc, and its offset terms into off."""
        grouped = self.group_vectors < self.vectors
        full, tail = divmod(self.vectors, self.span)
        with T.serial(0, full) as s:
            self.stretch(p, n0, s * self.span, self.span, grouped)
        if tail:
            self.stretch(p, n0, full * self.span, tail, grouped)
        if not grouped:
            self.close(p, n0, 0)


def _body(ins, out, rows: int, n: int, lanes: int, k: int, group: int, bits: int):
    per = next(r for r in (ROWS_PER_TASK, 2, 1) if n % r == 0)
    return row_tiles(_Gemv(ins, out, lanes, k, group, bits, per), n // per, per, rows)


def quant_gemv(x, w, scales, offsets, bias, bits: int, group: int, lanes: int):
    """quant_dense for x [..., K] with at most MAX_ROWS rows, through the TIR kernel above."""
    k, n = int(x.shape[-1]), int(w.shape[0])
    extra = lambda x2: [group_sums(x2, group), *([position_scaled(x2, bits, lanes)] if masked(bits, lanes) else [])]
    return rows_extern(x, [w, scales, offsets], n, bias,
                       lambda i, o, rows: _body(i, o, rows, n, lanes, k, group, bits), "gemv_dot", extra)


def masked(bits: int, lanes: int) -> bool:
    """Codes too wide for the lanes' table lookup are masked in place and converted instead."""
    return bits > TABLE_LOOKUP[lanes][1]


def position_scaled(x2: te.Tensor, bits: int, lanes: int) -> te.Tensor:
    """x[k] * 2^-(the bit offset of code k's field, as masked_codes leaves it): exact powers of two."""
    per = 32 // bits

    def scaled(p, kk):
        j = tirx.floormod(tirx.floordiv(kk, PACKED), per)
        shift = j * bits - (bits if lanes == 8 else 0) * (j == per - 1).astype("int32")
        two_to = tirx.reinterpret("float32", tirx.shift_left((127 - shift).astype("uint32"), 23))
        return x2[p, kk] * two_to

    return te.compute(x2.shape, scaled, name="gemv_x_scaled")


def group_sums(x2: te.Tensor, group: int) -> te.Tensor:
    """sum of x2 [rows, K] over each group of inputs (0: the whole row): [rows, groups]."""
    k = int(x2.shape[1])
    g = group or k
    s = te.reduce_axis((0, g), name="s")
    return te.compute((int(x2.shape[0]), k // g), lambda p, gi: te.sum(x2[p, gi * g + s], axis=s),
                      name="gemv_group_sum")
