"""Weight-only quant_dense GEMV on AVX512-BF16: 32 codes a step. Codes are laid out (at compile time)
in 16-bit lanes, step s of 32 codes in lanes l = k - 32 s, 16 // bits steps to a lane; one shift and
one 16-bit table lookup (vpermw) turn a step's codes into bf16 values (small integers: exact), and
vdpbf16ps multiplies them with x split into two bf16 parts, x = hi + lo (16 significant bits: a
relative error of at most 2^-17 per input, products exact, sums in float32). Half the shifts and
lookups per code of the float32 kernel (quant_gemv.py), whose decode bounds it."""

from __future__ import annotations

import math

import numpy as np
from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import unpack
from ...ir.target_traits import DenseLowBitGemv
from .quant_gemv import MAX_ROWS, MAX_UNROLL, MIN_UNROLL, ROWS_PER_TASK, _Gemv, group_sums
from .registry import Prepack
from .tir_kernel import packed_input, packed_view, row_tiles, rows_extern

STEP = 32  # codes a step: one vector of 16-bit lanes
VIEW = "bf16_lanes_view"  # the marker compute between a packed weight and the kernel that reads it
_DOT = "kf_dpbf16x2"
# acc + c * hi + c * lo with c, hi and lo vectors of bf16 (as i16: TVM legalizes bf16 arithmetic away)
_DOT_IR = f"""
declare <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float>, <32 x bfloat>, <32 x bfloat>)
define linkonce_odr <16 x float> @{_DOT}(<16 x float> %acc, <32 x i16> %c, <32 x i16> %h, <32 x i16> %l) alwaysinline {{
  %cb = bitcast <32 x i16> %c to <32 x bfloat>
  %hb = bitcast <32 x i16> %h to <32 x bfloat>
  %lb = bitcast <32 x i16> %l to <32 x bfloat>
  %a = call <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float> %acc, <32 x bfloat> %cb, <32 x bfloat> %lb)
  %b = call <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float> %a, <32 x bfloat> %cb, <32 x bfloat> %hb)
  ret <16 x float> %b
}}
"""


def bf16_applies(target, rows: int, k: int, group: int, bits: int) -> bool:
    """Whether this GEMV takes the bf16 kernel on this target."""
    kernel = dense_low_bit_gemv(target) if target is not None else None
    return kernel is not None and kernel.covers(bits, rows, k, group) and _stretch(k, group, bits) is not None


def dense_low_bit_gemv(target) -> DenseLowBitGemv | None:
    """What the quantize pass's cost rule needs to know of this kernel on the target (passes/target_traits.py)."""
    return DenseLowBitGemv((2, 3, 4), MAX_ROWS, STEP) if target.has_features("avx512bf16", "avx512bw") else None


def _stretch(k: int, group: int, bits: int) -> int | None:
    """Steps per unrolled stretch: whole loads of lanes and whole groups."""
    per = 16 // bits
    span = math.lcm(per, (group or k) // STEP) if group and group < k else per
    span *= max(1, MIN_UNROLL // 2 // span)
    return span if span <= MAX_UNROLL // 2 else None


def pack_lanes(words: np.ndarray, bits: int, k: int) -> np.ndarray:
    """Codes packed by ir/quantization.pack -> [N, loads * 16] u32 holding 16-bit lanes: code
    k = 32 s + l in lane l of load s // per at bit (s % per) * bits, per = 16 // bits."""
    per, steps = 16 // bits, k // STEP
    loads = -(-steps // per)
    codes = np.zeros((words.shape[0], loads * per, STEP), np.uint16)
    codes[:, :steps] = unpack(words, bits, k).reshape(words.shape[0], steps, STEP)
    shifts = (np.arange(per, dtype=np.uint16) * bits)[:, None]
    lanes = np.bitwise_or.reduce(codes.reshape(words.shape[0], loads, per, STEP) << shifts, axis=2)
    return np.ascontiguousarray(lanes.astype(np.uint16)).view(np.uint32).reshape(words.shape[0], -1)


def lanes_pack(bits: int, k: int) -> Prepack:
    loads = -(-(k // STEP) // (16 // bits))
    return Prepack(f"bf16_lanes{bits}k{k}", lambda w: pack_lanes(w, bits, k), lambda s: (s[0], loads * 16),
                   packed_view(VIEW))


def packed_source(t: te.Tensor) -> te.Tensor | None:
    """The lanes-packed placeholder behind a weight's view, or None if the weight is not so packed."""
    return packed_input(t, VIEW)


def _bf16_bits(v, lanes: int = 1):
    """float32 -> its nearest bf16 (ties to even), as the 16 high bits of a uint32."""
    u = tirx.reinterpret("uint32" if lanes == 1 else f"uint32x{lanes}", v)
    return tirx.shift_right(u + tirx.const(0x7FFF, "uint32") + tirx.bitwise_and(tirx.shift_right(u, 16), 1), 16)


def split_bf16(x2: te.Tensor) -> list[te.Tensor]:
    """x as hi + lo, two bf16 tensors (int16 bits): hi = bf16(x), lo = bf16(x - hi)."""
    hi = lambda p, kk: _bf16_bits(x2[p, kk])
    lo = lambda p, kk: _bf16_bits(x2[p, kk] - tirx.reinterpret("float32", tirx.shift_left(hi(p, kk), 16)))
    as_bits = lambda f: (lambda p, kk: f(p, kk).astype("int16"))
    return [te.compute(x2.shape, as_bits(f), name=f"gemv_x_{n}") for n, f in (("hi", hi), ("lo", lo))]


class _Bf16Gemv(_Gemv):
    def __init__(self, ins, out, k: int, group: int, bits: int, rows_per_task: int):
        self.x, self.xsum, self.xhi, self.xlo, self.words, self.scale, self.offset = (T.buffer_proxy(b) for b in ins)
        self.y = T.buffer_proxy(out)
        self.lanes, self.bits, self.r, self.per = 16, bits, rows_per_task, 16 // bits
        self.vectors, self.group_vectors = k // STEP, (group or k) // STEP  # steps: vectors of 32 codes
        self.span = _stretch(k, group, bits)

    def codes(self, n, load, t: int):
        """Step t of a load of lanes, as bf16 values (int16 bits). The lookup reads the low 5 bits,
        so one shift serves the steps whose codes all sit in them (2-bit codes: two steps)."""
        read = max(1, 5 // self.bits)  # steps one shift serves
        first = t - t % read
        lanes = tirx.reinterpret("uint16x32", self.words[n, tirx.Ramp(load * 16, 1, 16)])
        if first:
            lanes = tirx.shift_right(lanes, tirx.Broadcast(tirx.const(first * self.bits, "uint16"), STEP))
        return tirx.call_llvm_pure_intrin("int16x32", "llvm.x86.avx512.permvar.hi.512", self._table(t % read),
                                          tirx.reinterpret("int16x32", lanes))

    def _table(self, j: int):
        """bf16 values of the code at bit j * bits of each 5-bit index."""
        codes = tirx.bitwise_and(tirx.shift_right(tirx.Ramp(0, 1, STEP), tirx.Broadcast(j * self.bits, STEP)),
                                 tirx.Broadcast((1 << self.bits) - 1, STEP))
        return tirx.Cast("int16x32", _bf16_bits(tirx.Cast("float32x32", codes), STEP))

    def stretch(self, p, n0, base, count: int, closes: bool) -> None:
        for i in range(count):
            at = tirx.Ramp((base + i) * STEP, 1, STEP)
            hi, lo = self.xhi[p, at], self.xlo[p, at]
            load = base // self.per + i // self.per
            if i % self.per == 0:
                self.prefetch(n0, load * 16)
            for r in range(self.r):
                self.gacc[self.at(r)] = tirx.call_extern("float32x16", _DOT, self.gacc[self.at(r)],
                                                         self.codes(n0 + r, load, i % self.per), hi, lo)
            if closes and (i + 1) % self.group_vectors == 0:
                self.close(p, n0, base // self.group_vectors + i // self.group_vectors)


def _body(ins, out, rows: int, n: int, k: int, group: int, bits: int):
    per = next(r for r in (ROWS_PER_TASK, 2, 1) if n % r == 0)
    return row_tiles(_Bf16Gemv(ins, out, k, group, bits, per), n // per, per, rows, _DOT_IR)


def quant_gemv_bf16(x, words, scales, offsets, bias, bits: int, group: int):
    """quant_dense for x [..., K] with at most MAX_ROWS rows, words packed by lanes_pack."""
    k, n = int(x.shape[-1]), int(words.shape[0])
    return rows_extern(x, [words, scales, offsets], n, bias, lambda i, o, rows: _body(i, o, rows, n, k, group, bits),
                       "gemv_bf16", lambda x2: [group_sums(x2, group), *split_bf16(x2)])
