"""TE compute for quant_dense: codes are unpacked in registers inside the dot product, and each
group's scale and offset are applied once per group, to its partial dot product and input sum:
sum_k x[k] * (c[k] * s + o) = s * sum_k x[k] c[k] + o * sum_k x[k]."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.quantization import LANES
from .registry import lowering


def unpacked_code(w: te.Tensor, bits: int):
    """code(n, k) of the [N, words] u32 tensor w (ir/quantization.pack's layout), as float32."""
    block, mask = LANES * (32 // bits), tirx.const((1 << bits) - 1, "uint32")

    def code(n, k):
        r = tirx.floormod(k, block)
        word = w[n, tirx.floordiv(k, block) * LANES + tirx.floormod(r, LANES)]
        shift = (tirx.floordiv(r, LANES) * bits).astype("uint32")
        return tirx.bitwise_and(tirx.shift_right(word, shift), mask).astype("float32")

    return code


def lane_count(group: int) -> int:
    """Partial sums kept apart per group: 32 (four 8-lane or two 16-lane accumulators, which hide the
    FMA latency) when the group splits into them, else the most that divide it."""
    return next(n for n in (32, 8, 4, 2, 1) if group % n == 0)


@lowering("quant_dense", rule="quant_dense")
def _quant_dense(ins, attrs, out_types):
    x, w, scales, offsets, *bias = ins
    lead, k, n = [int(d) for d in x.shape[:-1]], int(x.shape[-1]), int(w.shape[0])
    group = attrs["group"] or k
    ngroups, code, lanes = k // group, unpacked_code(w, attrs["bits"]), lane_count(group)
    xk = lambda i, k_: x[(*i, k_)]
    a = te.reduce_axis((0, group // lanes), name="a")
    # part[.., n, g, j]: lane j's share of group g's dot product
    part = te.compute((*lead, n, ngroups, lanes), lambda *i: te.sum(
        xk(i[:-3], i[-2] * group + a * lanes + i[-1]) * code(i[-3], i[-2] * group + a * lanes + i[-1]), axis=a),
        name="group_dot")
    g = te.reduce_axis((0, ngroups), name="g")
    scaled = te.compute((*lead, n, lanes), lambda *i: te.sum(part[(*i[:-1], g, i[-1])] * scales[i[-2], g], axis=g),
                        name="scaled_lanes")
    ks = te.reduce_axis((0, group), name="ks")
    xsum = te.compute((*lead, ngroups), lambda *i: te.sum(xk(i[:-1], i[-1] * group + ks), axis=ks), name="group_sum")
    go = te.reduce_axis((0, ngroups), name="go")
    offset = te.compute((*lead, n), lambda *i: te.sum(xsum[(*i[:-1], go)] * offsets[i[-1], go], axis=go),
                        name="offset_sum")
    j = te.reduce_axis((0, lanes), name="j")
    lanes_sum = te.compute((*lead, n), lambda *i: te.sum(scaled[(*i, j)], axis=j), name="lane_sum")
    extra = (lambda i: offset(*i) + bias[0][i[-1]]) if bias else (lambda i: offset(*i))
    return te.compute((*lead, n), lambda *i: lanes_sum(*i) + extra(i), name="quant_dense")
