"""quant_dense with int8 activations (act_bits 8, 4-bit codes): integer dot products on AVX2, as
llama.cpp's Q4 x Q8. TE stages round each group of x to int8 (its scale max|x| / 127) and lay the codes
out in the order of the packed weight's nibbles; hand-written TIR then, per 64 codes (one vector of
packed words), splits the nibbles (and, shift), multiplies them with the int8 activations in pairs
(vpmaddubsw: 15 * 127 * 2 fits int16), sums pairs to int32 (vpmaddwd), and per group converts once
and applies the weight's and the activations' scales."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import A8_BLOCK, LANES
from .flat_rows import flat_index, unflat_index
from .registry import lowering_target
from .tir_kernel import local, per_core

_MADD_UBSW, _MADD_WD = "llvm.x86.avx2.pmadd.ub.sw", "llvm.x86.avx2.pmadd.wd"
_DPBUSD = "llvm.x86.avx512.vpdpbusd.256"  # AVX512-VNNI: four u8 x s8 products into each int32 lane


def has_vnni() -> bool:
    """Whether the target being lowered for has 256-bit VNNI (vpdpbusd)."""
    target = lowering_target()
    return target is not None and target.has_features("avx512vnni", "avx512vl")


def dpbusd(acc, a, b):
    """acc (int32x8) plus, per lane, the four products of unsigned bytes a and signed bytes b (int8x32)."""
    return tirx.call_llvm_pure_intrin("int32x8", _DPBUSD, acc, a, b)
ROWS_PER_TASK = 4  # weight rows sharing each load of activation codes


def _nibble_order(j):
    """The input index whose int8 code sits at position j of the permuted activations: word lane l's
    byte b holds the low nibble of code 16b + l and the high nibble of code 16b + 8 + l of its block."""
    r = tirx.floormod(j, A8_BLOCK)
    return tirx.floordiv(j, A8_BLOCK) * A8_BLOCK + 16 * tirx.floormod(r, 4) + tirx.floordiv(tirx.floormod(r, 32), 4) \
        + 8 * tirx.floordiv(r, 32)


def _activations(x2, group: int):
    """int8 codes (permuted to the nibble order), their scales and the plain group sums of x [P, K]."""
    rows, k = (int(d) for d in x2.shape)
    e = te.reduce_axis((0, group), name="e")
    peak = te.compute((rows, k // group), lambda p, g: te.max(tirx.abs(x2[p, g * group + e]), axis=e), name="a8_peak")
    scale = te.compute((rows, k // group), lambda p, g: tirx.Select(
        peak[p, g] > 0, peak[p, g] / tirx.const(127, "float32"), tirx.const(1, "float32")), name="a8_scale")

    def code(p, j):
        kk = _nibble_order(j)
        v = tirx.nearbyint(x2[p, kk] / scale[p, tirx.floordiv(kk, group)])
        return tirx.max(tirx.min(v, tirx.const(127, "float32")), tirx.const(-127, "float32")).astype("int8")

    codes = te.compute((rows, k), code, name="a8_codes")
    s = te.reduce_axis((0, group), name="s")
    sums = te.compute((rows, k // group), lambda p, g: te.sum(x2[p, g * group + s], axis=s), name="a8_sums")
    return codes, scale, sums


def _body(ins, out, rows: int, n: int, k: int, group: int):
    """y[p, n] = sum_g w_scale[n, g] * x_scale[p, g] * sum_k code[n, k] x_code[p, k] + w_offset[n, g] * x_sum[p, g];
    ROWS_PER_TASK weight rows per task share each vector of activation codes."""
    words, codes, xscale, xsum, wscale, woffset = (T.buffer_proxy(b) for b in ins)
    y = T.buffer_proxy(out)
    blocks, per = group // A8_BLOCK, next(r for r in (ROWS_PER_TASK, 2, 1) if n % r == 0)
    mask, ones = tirx.Broadcast(tirx.const(15, "int8"), 32), tirx.Broadcast(tirx.const(1, "int16"), 16)
    vec = lambda buf, i, start, lanes: buf[i, tirx.Ramp(start, 1, lanes)]
    lanes = lambda r: tirx.Ramp(r * LANES, 1, LANES)
    madd = lambda half, xs: tirx.call_llvm_pure_intrin("int16x16", _MADD_UBSW, half, xs)
    vnni = has_vnni()
    def tile(task, scratch):
        acc, dot, off = scratch
        with T.serial(0, rows) as p:
            for r in range(per):
                acc[lanes(r)] = tirx.Broadcast(tirx.const(0, "float32"), LANES)
                off[r] = tirx.const(0, "float32")
            with T.serial(0, k // group) as g:
                for r in range(per):
                    dot[lanes(r)] = tirx.Broadcast(tirx.const(0, "int32"), LANES)
                with T.unroll(0, blocks) as b:
                    block = g * blocks + b
                    xlo, xhi = vec(codes, p, block * 64, 32), vec(codes, p, block * 64 + 32, 32)
                    for r in range(per):
                        packed = vec(words, task * per + r, block * LANES, LANES)
                        lo = tirx.bitwise_and(tirx.reinterpret("int8x32", packed), mask)
                        hi = tirx.bitwise_and(tirx.reinterpret("int8x32", tirx.shift_right(
                            packed, tirx.Broadcast(tirx.const(4, "uint32"), LANES))), mask)
                        if vnni:
                            dot[lanes(r)] = dpbusd(dpbusd(dot[lanes(r)], lo, xlo), hi, xhi)
                        else:  # 2 x 15 x 127 fits int16: no saturation
                            pairs = madd(lo, xlo) + madd(hi, xhi)
                            dot[lanes(r)] = dot[lanes(r)] + tirx.call_llvm_pure_intrin("int32x8", _MADD_WD, pairs, ones)
                for r in range(per):
                    o = task * per + r
                    both = tirx.Broadcast(wscale[o, g] * xscale[p, g], LANES)
                    acc[lanes(r)] = acc[lanes(r)] + dot[lanes(r)].astype("float32x8") * both
                    off[r] = off[r] + woffset[o, g] * xsum[p, g]
            for r in range(per):
                y[p, task * per + r] = sum((acc[r * LANES + i] for i in range(1, LANES)), acc[r * LANES]) + off[r]
    alloc = lambda: (local([per * LANES]), local([per * LANES], "int32"), local([per]))
    return per_core(n // per, alloc, tile)


def quant_dense_int8(x, w, scales, offsets, bias, group: int):
    """The act_bits 8 form of quant_dense for x [..., K] (4-bit codes, group a multiple of 64)."""
    lead, k, n = [int(d) for d in x.shape[:-1]], int(x.shape[-1]), int(w.shape[0])
    rows, group = math.prod(lead), group or k
    x2 = te.compute((rows, k), lambda p, kk: x[(*unflat_index(p, lead), kk)], name="a8_rows")
    codes, xscale, xsum = _activations(x2, group)
    y2 = te.extern([(rows, n)], [w, codes, xscale, xsum, scales, offsets],
                   lambda i, o: _body(i, o[0], rows, n, k, group), dtype=["float32"], name="a8_dot")
    add = (lambda i: y2[flat_index(i[:-1], lead), i[-1]] + bias[0][i[-1]]) if bias else (
        lambda i: y2[flat_index(i[:-1], lead), i[-1]])
    return te.compute((*lead, n), lambda *i: add(i), name="quant_dense")
