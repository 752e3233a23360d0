"""TE compute for scaled_dot_product_attention: scores (against k transposed), mask, a numerically
safe softmax along the keys, and the weighted sum of the values, all in float32 (half inputs are
widened). The block names are what the "attention" schedule arranges."""

from __future__ import annotations

import math

from tvm import te, tirx

from .fastmath import fast_exp
from .linalg import acc_dtype, bcast_read, finish, widen
from .registry import lowering

# The blocks the "attention" schedule computes per block of query rows, in order: the scores
# (q @ k^T), their max, exp(scores - max), its sum, the softmax.
ROW_BLOCKS = ("attn_qk", "attn_max", "attn_exp", "attn_sum", "attn_probs")


def _masked(scores: te.Tensor, mask: te.Tensor | None, causal: bool) -> te.Tensor:
    """Scores with the causal, boolean (keep where True) or additive float mask applied."""
    if mask is None and not causal:
        return scores
    acc = str(scores.dtype)
    ninf = tirx.const(float("-inf"), acc)

    def f(*i):
        s = scores(*i)
        if causal:  # top-left aligned, as torch: query l sees keys 0..l
            return tirx.Select(i[-1] <= i[-2], s, ninf)
        m = bcast_read(mask, i)
        return tirx.Select(m, s, ninf) if str(mask.dtype) == "bool" else s + widen(m, acc)

    return te.compute(scores.shape, f, name="attn_mask")


@lowering("scaled_dot_product_attention", rule="attention")
def _sdpa(ins, attrs, out_types):
    q, k, v = ins[:3]
    mask = ins[3] if len(ins) > 3 else None
    shape = list(out_types[0].shape)
    batch, seq_q, seq_k, e = shape[:-2], shape[-2], int(k.shape[-2]), int(q.shape[-1])
    dt = str(q.dtype)
    acc = acc_dtype(dt)
    scale = tirx.const(1 / math.sqrt(e) if attrs["scale"] is None else attrs["scale"], acc)
    nb = len(batch)
    re = te.reduce_axis((0, e), "re")
    # k transposed once per head, so that a row of scores is a contiguous vector sweep over the keys.
    kt = te.compute([*k.shape[:-2], e, seq_k], lambda *i: k(*i[:-2], i[-1], i[-2]), name="attn_kt")
    qk = te.compute([*batch, seq_q, seq_k], lambda *i: te.sum(
        widen(bcast_read(q, (*i[:nb], i[nb], re)), acc) * widen(bcast_read(kt, (*i[:nb], re, i[nb + 1])), acc),
        axis=re), name="attn_qk")
    scores = te.compute(qk.shape, lambda *i: qk(*i) * scale, name="attn_scores")
    scores = _masked(scores, mask, attrs["is_causal"])
    rs = te.reduce_axis((0, seq_k), "rs")
    row_max = te.compute([*batch, seq_q], lambda *i: te.max(scores(*i, rs), axis=rs), name="attn_max")
    ex = te.compute(scores.shape, lambda *i: fast_exp(scores(*i) - row_max(*i[:-1])), name="attn_exp")
    rs2 = te.reduce_axis((0, seq_k), "rs2")
    row_sum = te.compute([*batch, seq_q], lambda *i: te.sum(ex(*i, rs2), axis=rs2), name="attn_sum")
    probs = te.compute(scores.shape, lambda *i: ex(*i) / row_sum(*i[:-1]), name="attn_probs")
    rs3 = te.reduce_axis((0, seq_k), "rs3")
    out = te.compute(shape, lambda *i: te.sum(
        probs(*i[:-1], rs3) * widen(bcast_read(v, (*i[:nb], rs3, i[-1])), acc), axis=rs3), name="attn_weighted")
    return finish(out, dt)
