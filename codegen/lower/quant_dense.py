"""TE compute for quant_dense: codes are unpacked in registers inside the dot product, and each
group's scale and offset are applied once per group, to its partial dot product and input sum:
sum_k x[k] * (c[k] * s + o) = s * sum_k x[k] c[k] + o * sum_k x[k]."""

from __future__ import annotations

import numpy as np
from tvm import te, tirx

from ...ir.quantization import LANES
from ...ir.spqr import STAT_BITS, SUPERGROUP
from .bcq_gemv import ALPHA_ROWS, bcq_gemv, bcq_gemv_applies, sign_rows
from .bcq_gemv import packed as bcq_packed
from .quant_dense_i8 import quant_dense_int8
from .quant_gemm import code_pack, grid_pack, quant_gemm, quant_gemm_lanes
from .quant_gemm import packed as gemm_packed
from .quant_gemv import gemv_lanes, quant_gemv
from .quant_gemv_bf16 import bf16_applies, lanes_pack, packed_source, quant_gemv_bf16
from .registry import lowering, lowering_target


def unpacked_code(w: te.Tensor, bits: int):
    """code(n, k) of the [N, words] u32 tensor w (ir/quantization.pack's layout), as float32."""
    per, mask = 32 // bits, tirx.const((1 << bits) - 1, "uint32")

    def code(n, k):
        # through k's vector index k // LANES: a vector of LANES codes then has one word offset and one
        # shift, which TVM proves for any split of k into whole vectors (not so for k mod the block)
        vec, lane = tirx.floordiv(k, LANES), tirx.floormod(k, LANES)
        word = w[n, tirx.floordiv(vec, per) * LANES + lane]
        shift = (tirx.floormod(vec, per) * bits).astype("uint32")
        return tirx.bitwise_and(tirx.shift_right(word, shift), mask).astype("float32")

    return code


def lane_count(group: int) -> int:
    """Partial sums kept apart per group: 32 (four 8-lane or two 16-lane accumulators, which hide the
    FMA latency) when the group splits into them, else the most that divide it."""
    return next(n for n in (32, 8, 4, 2, 1) if group % n == 0)


def _lanes_pack(types, attrs, results=None, computed=frozenset()):
    """Weights of GEMVs the bf16 kernel computes (on targets with AVX512-BF16) in its 16-bit lanes, and of
    GEMMs the row-block kernel computes with the block's rows innermost."""
    x = types[0]
    rows, k = int(np.prod(x.shape[:-1])), int(x.shape[-1])
    if attrs["act_bits"] or {1, 2, 3} & computed:
        return {}
    lanes = quant_gemm_lanes(lowering_target(), rows)
    if lanes:
        return {1: code_pack(attrs["bits"], k, lanes), 2: grid_pack(lanes), 3: grid_pack(lanes)}
    if not bf16_applies(lowering_target(), rows, k, attrs["group"], attrs["bits"]):
        return {}
    return {1: lanes_pack(attrs["bits"], k)}


@lowering("quant_dense", rule="quant_dense", prepack=_lanes_pack,
          requires=lambda attrs: "avx2" if attrs["act_bits"] == 8 else None)
def _quant_dense(ins, attrs, out_types):
    x, w, scales, offsets, *bias = ins
    if attrs["act_bits"] == 8:
        return quant_dense_int8(x, w, scales, offsets, bias, attrs["group"])
    rows = int(np.prod([int(d) for d in x.shape[:-1]]))
    target = lowering_target()
    laid_out = gemm_packed(w, scales, offsets)
    if laid_out is not None:  # _lanes_pack chose the row-block GEMM
        return quant_gemm(x, *laid_out, bias, int(out_types[0].shape[-1]), attrs["bits"], attrs["group"],
                          quant_gemm_lanes(target, rows))
    packed = packed_source(w)
    if packed is not None:  # lanes_pack chose the bf16 kernel for this weight
        return quant_gemv_bf16(x, packed, scales, offsets, bias, attrs["bits"], attrs["group"])
    lanes = gemv_lanes(target, rows, int(x.shape[-1]), attrs["group"], attrs["bits"])
    if lanes:
        return quant_gemv(x, w, scales, offsets, bias, attrs["bits"], attrs["group"], lanes)
    code = unpacked_code(w, attrs["bits"])
    return grouped_dot(x, int(w.shape[0]), attrs["group"], 1, lambda n, gv, k: code(n, k),
                       lambda n, gv: scales[n, gv], lambda n, g: offsets[n, g], bias)


def _bcq_rows(types, attrs, results=None, computed=frozenset()):
    """Signs and scales of GEMVs the lookup kernel computes (AVX-512), rows innermost."""
    x, signs = types[0], types[1]
    rows, k, n = int(np.prod(x.shape[:-1])), int(x.shape[-1]), int(signs.shape[1])
    if {1, 2} & computed or not bcq_gemv_applies(lowering_target(), rows, k, n, attrs["group"]):
        return {}
    return {1: sign_rows(k), 2: ALPHA_ROWS}


@lowering("bcq_dense", rule="quant_dense", prepack=_bcq_rows)
def _bcq_dense(ins, attrs, out_types):
    """sum_i alpha_i * sum_k (2 bit_i(k) - 1) x[k] = sum_i (2 alpha_i) sum_k bit_i(k) x[k] - (sum_i alpha_i) sum_k x[k]:
    each (group, plane) is a virtual group of 1-bit codes, the offset the group's negated scale sum."""
    x, signs, alphas, *bias = ins
    if bcq_packed(signs) is not None:  # _bcq_rows chose the lookup kernel
        return bcq_gemv(x, bcq_packed(signs), bcq_packed(alphas), bias, attrs["planes"], attrs["group"])
    planes, n = attrs["planes"], int(signs.shape[1])
    flat = te.compute((planes * n, int(signs.shape[2])), lambda r, w: signs[r // n, r % n, w], name="bcq_rows")
    code = unpacked_code(flat, 1)
    return grouped_dot(x, n, attrs["group"], planes, lambda n_, gv, k: code(tirx.floormod(gv, planes) * n + n_, k),
                       lambda n_, gv: 2 * alphas[n_, tirx.floordiv(gv, planes), tirx.floormod(gv, planes)],
                       lambda n_, g: -sum(alphas[n_, g, i] for i in range(planes)), bias)


def grouped_dot(x, n: int, group: int, planes: int, code, scale, offset, bias, correction=None):
    """y[.., n] = sum over virtual groups gv (planes per group of inputs) of scale(n, gv) * sum_k x[k] *
    code(n, gv, k), plus sum over groups g of offset(n, g) * sum_k x[k], plus bias (and a correction
    tensor [.., n]): the blocks the quant_dense schedule tiles."""
    lead, k = [int(d) for d in x.shape[:-1]], int(x.shape[-1])
    group = group or k
    ngroups, lanes = k // group, lane_count(group)
    xk = lambda i, k_: x[(*i, k_)]
    at = lambda gv, a_, lane: tirx.floordiv(gv, planes) * group + a_ * lanes + lane
    a = te.reduce_axis((0, group // lanes), name="a")
    # part[.., n, gv, j]: lane j's share of virtual group gv's dot product
    part = te.compute((*lead, n, ngroups * planes, lanes), lambda *i: te.sum(
        xk(i[:-3], at(i[-2], a, i[-1])) * code(i[-3], i[-2], at(i[-2], a, i[-1])), axis=a), name="group_dot")
    g = te.reduce_axis((0, ngroups * planes), name="g")
    scaled = te.compute((*lead, n, lanes), lambda *i: te.sum(part[(*i[:-1], g, i[-1])] * scale(i[-2], g), axis=g),
                        name="scaled_lanes")
    ks = te.reduce_axis((0, group), name="ks")
    xsum = te.compute((*lead, ngroups), lambda *i: te.sum(xk(i[:-1], i[-1] * group + ks), axis=ks), name="group_sum")
    go = te.reduce_axis((0, ngroups), name="go")
    offsets = te.compute((*lead, n), lambda *i: te.sum(xsum[(*i[:-1], go)] * offset(i[-1], go), axis=go),
                         name="offset_sum")
    j = te.reduce_axis((0, lanes), name="j")
    lanes_sum = te.compute((*lead, n), lambda *i: te.sum(scaled[(*i, j)], axis=j), name="lane_sum")
    terms = [offsets, *([] if correction is None else [correction])]
    extra = lambda i: sum(t(*i) for t in terms) + (bias[0][i[-1]] if bias else 0)
    return te.compute((*lead, n), lambda *i: lanes_sum(*i) + extra(i), name="quant_dense")


@lowering("spqr_dense", rule="quant_dense")
def _spqr_dense(ins, attrs, out_types):
    """The codes as quant_dense's, with each group's scale and offset decoded from their 3-bit codes; the
    outlier corrections added by one more block over each row's CSR entries."""
    x, words, stat_codes, grid, values, cols, ptr, *bias = ins
    n = int(words.shape[0])
    code = unpacked_code(words, attrs["bits"])
    flat = te.compute((2 * n, int(stat_codes.shape[2])), lambda r, w: stat_codes[r // n, r % n, w],
                      name="spqr_stat_rows")
    stat = unpacked_code(flat, STAT_BITS)
    decoded = lambda t, n_, g: (stat(t * n + n_, g) * grid[t, n_, tirx.floordiv(g, SUPERGROUP), 0]
                                + grid[t, n_, tirx.floordiv(g, SUPERGROUP), 1])
    return grouped_dot(x, n, attrs["group"], 1, lambda n_, gv, k: code(n_, k), lambda n_, gv: decoded(0, n_, gv),
                       lambda n_, g: decoded(1, n_, g), bias, _outliers(x, values, cols, ptr, n, attrs["row_outliers"]))


def _outliers(x, values, cols, ptr, n: int, most: int):
    """sum over row n's CSR entries of value * x[col], as a reduction over at most `most` entries."""
    nnz = int(values.shape[0])
    if most == 0 or nnz == 0:
        return None
    j = te.reduce_axis((0, most), name="e")

    def row(i, n_):
        p = tirx.min(ptr[n_] + j, nnz - 1)
        inside = j < ptr[n_ + 1] - ptr[n_]
        return te.sum(tirx.if_then_else(inside, values[p] * x[(*i, cols[p])], tirx.const(0, x.dtype)), axis=j)

    return te.compute((*[int(d) for d in x.shape[:-1]], n), lambda *i: row(i[:-1], i[-1]), name="spqr_outliers")
