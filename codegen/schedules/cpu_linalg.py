"""CPU (llvm) schedules for the compute-heavy rules: register-tiled GEMM (and GEMV), window pools,
and attention computed row by row."""

from __future__ import annotations

from tvm.s_tir import ScheduleError

from ..lower.attention import ROW_BLOCKS as ATTENTION_ROW_BLOCKS
from ..lower.layouts import PANEL_WIDTH
from ..lower.pool import BLOCKS_SUFFIX as POOL_BLOCKS_SUFFIX
from ..lower.pool import ROWS_SUFFIX as POOL_ROWS_SUFFIX
from . import schedule_rule
from .analysis import REDUCE_ITER, blocks, extent, inline_all, is_reduction
from .cpu import rfactor_lanes, schedule_reduce, schedule_reduction_block, vectorize_lanes, vectorize_spatial
from .tiling import (
    anchor_block,
    epilogue_at,
    in_parallel_loop,
    inner_width,
    lay_out,
    loop_kinds,
    name,
    pad_at,
    pad_blocks,
    parallel_depth,
    prepare,
    row_tiles,
    schedule_pads,
    split,
    split_even,
    vector_factor,
    vectorize_inner,
    writeback,
)

# Rows of A whose K-panel stays in L2 while the B panels stream past it.
GEMM_ROW_BLOCK = 64
# The row tile M is padded to when no tile divides it.
GEMM_PAD_ROWS = 4
# Columns a GEMV computes at once: 4 panels, 8 independent vector accumulators.
GEMV_COLS = 64


def others(sch, *placed) -> list[str]:
    """Names of the blocks a rule leaves alone (epilogues that could not be fused, other ops)."""
    skip = {name(sch, b) for b in [*placed, *pad_blocks(sch)]}
    return [name(sch, b) for b in blocks(sch) if name(sch, b) not in skip]


def finish_rest(sch, rest: list[str], target) -> None:
    """Schedule the blocks named in rest, each on its own: parallel outside, vectorized inside."""
    for b in map(sch.get_sblock, rest):
        if not sch.get_loops(b) or in_parallel_loop(sch, b):
            continue
        if is_reduction(sch, b):
            schedule_reduction_block(sch, b, target)
        else:
            vectorize_spatial(sch, b, target)


def tile_anchor(sch, target, keep=()):
    """The anchor (prologues but `keep` inlined) with its write-back, or None if there is no
    reduction with both spatial and reduce loops to tile."""
    anchor = anchor_block(sch)
    if anchor is None:
        return None
    prepare(sch, anchor, [sch.get_sblock(b) for b in keep])
    spatial, reduce = loop_kinds(sch, anchor)
    if not spatial or not reduce:
        return None
    return anchor, writeback(sch, anchor), spatial, reduce


@schedule_rule("llvm", "gemm")
def schedule_gemm(sch, target) -> None:
    """C[..., m, n] += A[..., m, k] * B[..., k, n]: 4-6 rows of A broadcast against one or two vectors
    of a B panel, accumulated in registers over the whole K; row blocks of A stay in L2."""
    lanes = target.vector_lanes_f32
    row_pads = _pad_rows(sch, lanes)
    tiled = tile_anchor(sch, target, row_pads)
    if tiled is None:
        return schedule_reduce(sch, target)
    anchor, wb, spatial, reduce = tiled
    rest = others(sch, anchor, wb, *map(sch.get_sblock, row_pads))
    schedule_pads(sch, lanes, [*pad_blocks(sch), *map(sch.get_sblock, row_pads)])
    *lead, n = spatial
    m = lead.pop() if lead and (extent(sch, lead[-1]) or 1) > 1 else None
    if m is None:  # GEMV: several panels side by side for independent accumulators
        n_out, n_in = split(sch, n, _gemv_cols(extent(sch, n), lanes))
        n_mid, vec = split(sch, n_in, _panel_vector(extent(sch, n_in), lanes)) if n_in else (None, None)
        outer, inner = [*lead, n_out], [n_mid]
    else:
        no, vec = split(sch, n, _panel_vector(extent(sch, n), lanes))
        vectors = -(-(extent(sch, vec) if vec else 1) // lanes)
        (mr,) = row_tiles([extent(sch, m)], vectors, [0])
        mo, m_in = split(sch, m, mr)
        mo_out, mo_in = split_even(sch, mo, max(1, GEMM_ROW_BLOCK // mr))
        outer = [*lead, mo_out, no, *([mo_in] if mo_in else [])]
        inner = [m_in]
    lay_out(sch, anchor, wb, outer, reduce, inner, vec, parallel_depth(sch, outer, target.cores))
    finish_rest(sch, rest, target)


def _pad_rows(sch, lanes: int) -> list[str]:
    """When no register tile divides M (a prime number of rows, say), pad the GEMM's rows to a
    multiple of 4: A's rows are copied into a zero-padded buffer, the extra rows of C are dropped
    in the write-back. Beats a tile predicate inside the K loop. Returns the new copy blocks."""
    anchor = anchor_block(sch)
    spatial, reduce = loop_kinds(sch, anchor) if anchor is not None else ([], [])
    if len(spatial) < 2 or not reduce:
        return []
    m, n = (extent(sch, lp) for lp in spatial[-2:])
    (mr,) = row_tiles([m], -(-vector_factor(n, lanes) // lanes), [0])
    if mr >= 3 or m < 8:
        return []
    before = {name(sch, b) for b in blocks(sch)}
    try:
        sch.pad_einsum(anchor, [1] * (len(spatial) - 2) + [GEMM_PAD_ROWS, 1] + [1] * len(reduce))
    except ScheduleError:
        return []  # not a plain einsum (an index is an expression): the tiles keep a predicate
    return [name(sch, b) for b in sch.get_producers(anchor) if name(sch, b) not in before]


def vectors(sch, vec, lanes: int) -> int:
    """Vector registers one row of a register tile takes."""
    return -(-(extent(sch, vec) if vec is not None else 1) // lanes)


def _panel_vector(n: int, lanes: int) -> int:
    """The tile's columns, at most one panel: across two panels of packed B, columns load one by one."""
    return vector_factor(n, lanes, max(1, PANEL_WIDTH // lanes))


def _gemv_cols(n: int, lanes: int) -> int:
    for cols in (GEMV_COLS, GEMV_COLS // 2, 2 * lanes, lanes):
        if n % cols == 0:
            return cols
    return vector_factor(n, lanes)


@schedule_rule("llvm", "pool")
def schedule_pool(sch, target) -> None:
    """Window pools: parallel over (batch, channel) planes; in each, the padded copy, the reduction
    over the window's rows (vectorized along the width), then along the width (output vectorized),
    the taps unrolled."""
    lanes = target.vector_lanes_f32
    final = [b for b in blocks(sch) if is_reduction(sch, b)][-1]
    if name(sch, final).endswith(POOL_BLOCKS_SUFFIX):
        return _schedule_blocked_pool(sch, final)
    inline_all(sch, keep=[final, *pad_blocks(sch), *_pool_rows(sch)])
    rest = others(sch, final, *_pool_rows(sch))
    spatial, reduce = loop_kinds(sch, final)
    wo, vec = split(sch, spatial[-1], vector_factor(extent(sch, spatial[-1]), lanes, 1))
    plane = sch.fuse(*spatial[:2])
    sch.reorder(plane, *spatial[2:-1], wo, *reduce, *([vec] if vec else []))
    sch.parallel(plane)
    _unroll_reduction(sch, final, reduce, vec)
    for rows in _pool_rows(sch):
        sch.compute_at(rows, plane)
        try:
            _schedule_pool_rows(sch, rows, lanes)
        except (ScheduleError, ValueError):
            # compute_at drops unit loops (a 1-wide output), so loops and iter vars no longer pair up;
            # the rows pass then stays a plain loop nest inside the parallel plane loop.
            pass
    for pad in reversed(pad_blocks(sch)):  # consumers first: a phase block reads its pad
        pad_at(sch, pad, plane, lanes)
    # avg_pool's division by the window counts (and fused epilogues) on each plane while in cache
    epilogue_at(sch, final, plane)
    finish_rest(sch, rest, target)


def _schedule_blocked_pool(sch, final) -> None:
    """A pool over channel blocks [N, C/8, H, W, 8] (no padded copy: taps outside read the pad value):
    parallel over (batch, block) planes; each output vector reduced over the unrolled taps in a
    register, its epilogue (avg_pool's division, the store into the output) applied on the way out."""
    inline_all(sch, keep=[final])
    n, cb, *rows, w, k = sch.get_loops(blocks(sch)[-1])  # the store into the output
    plane = sch.fuse(n, cb)
    sch.parallel(plane)
    sch.vectorize(k)
    sch.compute_at(final, w)
    *_, red_k, kh, kw = sch.get_loops(final)
    sch.reorder(kh, kw, red_k)
    for tap in (kh, kw):
        sch.unroll(tap)
    sch.vectorize(red_k)
    sch.decompose_reduction(final, kh)


def _schedule_pool_rows(sch, rows, lanes: int) -> None:
    """Under the plane loop, one loop per remaining iter var: output rows, width, taps."""
    pairs = list(zip(sch.get_loops(rows)[1:], sch.get(rows).iter_vars[2:]))
    *own, w = [lp for lp, iv in pairs if int(iv.iter_type) != REDUCE_ITER]
    taps = [lp for lp, iv in pairs if int(iv.iter_type) == REDUCE_ITER]
    wo, wv = split(sch, w, inner_width(extent(sch, w), lanes))
    sch.reorder(*own, wo, *taps, *([wv] if wv else []))
    _unroll_reduction(sch, rows, taps, wv)


def _pool_rows(sch) -> list:
    return [b for b in blocks(sch) if name(sch, b).endswith(POOL_ROWS_SUFFIX)]


def _unroll_reduction(sch, block, taps, vec) -> None:
    """Taps unrolled, the vector loop vectorized, the accumulator's init split off."""
    for lp in taps:
        sch.unroll(lp)
    if vec is not None:
        sch.vectorize(vec)
    sch.decompose_reduction(block, taps[0])


@schedule_rule("llvm", "attention")
def schedule_attention(sch, target) -> None:
    """Attention one head per parallel iteration (k transposed there once), one block of query rows
    at a time: its scores, max, exponentials and softmax are made in cache, then the weighted sum
    of the values is register-tiled like a GEMM (rows x vectors along the value width)."""
    lanes = target.vector_lanes_f32
    for b in ("attn_scores", "attn_mask"):
        _try_inline(sch, b)
    weighted = sch.get_sblock("attn_weighted")
    wb = writeback(sch, weighted)
    rest = others(sch, weighted, wb, *map(sch.get_sblock, ATTENTION_ROW_BLOCKS))
    rows, per_head = _tile_weighted(sch, weighted, wb, lanes)
    for b in reversed(ATTENTION_ROW_BLOCKS):
        sch.compute_at(sch.get_sblock(b), rows)
    if per_head:  # else k^T is made once at the root, not once per row block
        sch.compute_at(sch.get_sblock("attn_kt"), sch.get_loops(sch.get_sblock("attn_qk"))[0])
        rest.remove("attn_kt")
    _tile_scores(sch, rows, lanes)
    for b in ("attn_exp", "attn_probs"):
        vectorize_inner(sch, sch.get_sblock(b), lanes)
    for b in ("attn_max", "attn_sum"):  # lane-wise partial results, then a short horizontal step
        rf = rfactor_lanes(sch, sch.get_sblock(b), target)
        if rf is not None:
            vectorize_lanes(sch, rf)
    finish_rest(sch, rest, target)


def _tile_weighted(sch, weighted, wb, lanes: int):
    """Register-tile probs @ v; returns the loop of one row block and whether the parallel loop
    runs over heads alone (several heads) rather than heads x row blocks."""
    *batch, seq, ev, s = sch.get_loops(weighted)
    head = (sch.fuse(*batch) if len(batch) > 1 else batch[0]) if batch else None
    evo, vec = split(sch, ev, vector_factor(extent(sch, ev), lanes, 4))
    (fl,) = row_tiles([extent(sch, seq)], vectors(sch, vec, lanes), [0])
    lo, li = split(sch, seq, fl)
    per_head = head is not None and extent(sch, head) > 1
    outer = [lp for lp in (head, lo, evo) if lp is not None]
    lay_out(sch, weighted, wb, outer, [s], [li], vec, 2 if head is not None and not per_head else 1)
    return sch.get_loops(sch.get_sblock("attn_weighted_update"))[1 if per_head else 0], per_head


def _tile_scores(sch, rows, lanes: int) -> None:
    """Scores of a row block: query elements broadcast against up to 4 vectors of the transposed
    keys, the row block's accumulators (rows x vectors) in registers over the head dim."""
    qk = sch.get_sblock("attn_qk")
    loops = sch.get_loops(qk)
    own = loops[next(i for i, lp in enumerate(loops) if sch.get(lp).same_as(sch.get(rows))) + 1:]
    if len(own) < 2:  # one key (a single-token sequence): nothing to tile
        return
    li, (s, e) = (own[-3] if len(own) > 2 else None), own[-2:]
    so, vec = split(sch, s, vector_factor(extent(sch, s), lanes, 4))
    sch.reorder(so, e, *[lp for lp in (li, vec) if lp is not None])
    if li is not None:
        sch.unroll(li)
    if vec is not None:
        sch.vectorize(vec)
    sch.decompose_reduction(qk, e)


def _try_inline(sch, block_name: str) -> None:
    try:
        sch.compute_inline(sch.get_sblock(block_name))
    except (ScheduleError, ValueError):
        pass  # absent (no mask) or already gone
