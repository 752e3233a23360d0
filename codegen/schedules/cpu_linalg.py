"""CPU (llvm) schedules for the compute-heavy rules: register-tiled GEMM (and GEMV) and convolutions,
window pools, and attention computed row by row."""

from __future__ import annotations

from tvm.tirx import IndexMap

from . import schedule_rule
from .analysis import blocks, extent, is_reduction
from .cpu import schedule_reduce, schedule_reduction_block, vectorize_spatial
from .tiling import (
    anchor_block,
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
    writeback,
)

# The conv lowering names a convolution whose every output channel reads one input channel so.
DEPTHWISE_BLOCK = "depthwise"
# Rows of A whose K-panel stays in L2 while the B panels stream past it.
GEMM_ROW_BLOCK = 64
# Columns a GEMV computes at once: 4 panels, 8 independent vector accumulators.
GEMV_COLS = 64


def others(sch, *placed) -> list[str]:
    """Names of the blocks a rule leaves alone (epilogues that could not be fused, other ops)."""
    skip = {name(sch, b) for b in [*placed, *pad_blocks(sch)]}
    return [name(sch, b) for b in blocks(sch) if name(sch, b) not in skip]


def finish_rest(sch, rest: list[str], target) -> None:
    """Schedule the blocks named in rest, each on its own: parallel outside, vectorized inside."""
    for b in map(sch.get_sblock, rest):
        if not sch.get_loops(b):
            continue
        if is_reduction(sch, b):
            schedule_reduction_block(sch, b, target)
        else:
            vectorize_spatial(sch, b, target)


def _tile_anchor(sch, target):
    """The anchor (prologues inlined, pads scheduled) with its write-back, or None if there is no
    reduction with both spatial and reduce loops to tile."""
    anchor = anchor_block(sch)
    if anchor is None:
        return None
    prepare(sch, anchor)
    spatial, reduce = loop_kinds(sch, anchor)
    if not spatial or not reduce:
        return None
    return anchor, writeback(sch, anchor), spatial, reduce


@schedule_rule("llvm", "gemm")
def schedule_gemm(sch, target) -> None:
    """C[..., m, n] += A[..., m, k] * B[..., k, n]: 4-6 rows of A broadcast against one or two vectors
    of a B panel, accumulated in registers over the whole K; row blocks of A stay in L2."""
    tiled = _tile_anchor(sch, target)
    if tiled is None:
        return schedule_reduce(sch, target)
    anchor, wb, spatial, reduce = tiled
    rest, lanes = others(sch, anchor, wb), target.vector_lanes_f32
    schedule_pads(sch, lanes)
    *lead, n = spatial
    m = lead.pop() if lead and (extent(sch, lead[-1]) or 1) > 1 else None
    if m is None:  # GEMV: several panels side by side for independent accumulators
        n_out, n_in = split(sch, n, _gemv_cols(extent(sch, n), lanes))
        n_mid, vec = split(sch, n_in, vector_factor(extent(sch, n_in), lanes)) if n_in else (None, None)
        outer, inner = [*lead, n_out], [n_mid]
    else:
        no, vec = split(sch, n, vector_factor(extent(sch, n), lanes))
        vectors = -(-(extent(sch, vec) if vec else 1) // lanes)
        (mr,) = row_tiles([extent(sch, m)], vectors, [0])
        mo, m_in = split(sch, m, mr)
        mo_out, mo_in = split_even(sch, mo, max(1, GEMM_ROW_BLOCK // mr))
        outer = [*lead, mo_out, no, *([mo_in] if mo_in else [])]
        inner = [m_in]
    lay_out(sch, anchor, wb, outer, reduce, inner, vec, parallel_depth(sch, outer, target.cores))
    finish_rest(sch, rest, target)


def _gemv_cols(n: int, lanes: int) -> int:
    for cols in (GEMV_COLS, GEMV_COLS // 2, 2 * lanes, lanes):
        if n % cols == 0:
            return cols
    return vector_factor(n, lanes)


@schedule_rule("llvm", "conv2d", "conv")
def schedule_conv(sch, target) -> None:
    """out[n, o, *s] += pad[n, c, *(s * stride + k * dil)] * w[o, c, *k], vectorized along the output
    width, by the strategy the convolution's shape calls for (see CONV_STRATEGIES)."""
    tiled = _tile_anchor(sch, target)
    if tiled is None:
        return schedule_reduce(sch, target)
    anchor, wb, spatial, reduce = tiled
    rest = others(sch, anchor, wb)
    CONV_STRATEGIES[_conv_kind(sch, anchor, reduce)](sch, anchor, wb, spatial, reduce, target)
    finish_rest(sch, rest, target)


def _conv_kind(sch, anchor, reduce) -> str:
    if name(sch, anchor).startswith(DEPTHWISE_BLOCK):
        return "depthwise"
    taps = all(extent(sch, lp) == 1 for lp in reduce[1:])
    return "pointwise" if taps and not pad_blocks(sch) else "general"


def _general_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """Output channels (broadcast weights) x output rows x one or two vectors of width in registers,
    over all input channels and taps; the padded input is made once, up front."""
    lanes = target.vector_lanes_f32
    batch, o, *rows, w = spatial
    wo, vec = split(sch, w, vector_factor(extent(sch, w), lanes))
    row = rows[-1] if rows else None
    fo, fr = row_tiles([extent(sch, o), extent(sch, row) if row is not None else 1], _vectors(sch, vec, lanes), [0, 1])
    oo, oi = split(sch, o, fo)
    ro, ri = split(sch, row, fr) if row is not None else (None, None)
    outer = [batch, *rows[:-1], *([ro] if ro is not None else []), oo, wo]
    schedule_pads(sch, lanes)
    lay_out(sch, anchor, wb, outer, _unroll_taps(sch, reduce), [oi, ri], vec,
            parallel_depth(sch, outer, target.cores))


def _pointwise_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """A 1x1, stride-1 convolution is a GEMM: output channels x (all output positions, flattened)."""
    lanes = target.vector_lanes_f32
    _flatten_positions(sch, anchor, wb, [extent(sch, lp) for lp in spatial[2:]])
    (batch, o, p), reduce = loop_kinds(sch, anchor)
    po, vec = split(sch, p, vector_factor(extent(sch, p), lanes))
    (fo,) = row_tiles([extent(sch, o)], _vectors(sch, vec, lanes), [0])
    oo, oi = split(sch, o, fo)
    outer = [batch, po, oo]
    lay_out(sch, anchor, wb, outer, reduce, [oi], vec, parallel_depth(sch, outer, target.cores))


def _flatten_positions(sch, anchor, wb, sizes: list[int]) -> None:
    """Make the spatial output positions one axis, in the anchor, its accumulator and the write-back,
    so that tiles along it are exact (a tile crossing a row stays one contiguous range)."""
    n = len(sizes)

    def flat(idx):
        pos = idx[0]
        for i, size in zip(idx[1:], sizes[1:]):
            pos = pos * size + i
        return pos

    out = IndexMap.from_func(lambda b, o, *s: (b, o, flat(s)), ndim=n + 2)
    sch.transform_layout(anchor, ("write", 0), out)
    rank = len(sch.get(anchor).iter_vars)
    sch.transform_block_layout(anchor, IndexMap.from_func(lambda b, o, *r: (b, o, flat(r[:n]), *r[n:]), ndim=rank))
    sch.transform_block_layout(wb, out)


def _depthwise_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """One channel plane per parallel iteration: its padded copy is made there (in cache), then
    output rows x vectors of width in registers over the taps."""
    lanes = target.vector_lanes_f32
    batch, o, *rows, w = spatial
    wo, vec = split(sch, w, vector_factor(extent(sch, w), lanes))
    row = rows[-1] if rows else None
    (fr,) = row_tiles([extent(sch, row) if row is not None else 1], _vectors(sch, vec, lanes), [1])
    ro, ri = split(sch, row, fr) if row is not None else (None, None)
    outer = [batch, o, *rows[:-1], *([ro] if ro is not None else []), wo]
    lay_out(sch, anchor, wb, outer, _unroll_taps(sch, reduce), [ri], vec, 2)
    plane = sch.get_loops(sch.get_sblock(name(sch, anchor)))[0]
    for pad in reversed(pad_blocks(sch)):
        pad_at(sch, pad, plane, lanes)


CONV_STRATEGIES = {"general": _general_conv, "pointwise": _pointwise_conv, "depthwise": _depthwise_conv}


def _vectors(sch, vec, lanes: int) -> int:
    """Vector registers one row of the tile takes."""
    return -(-(extent(sch, vec) if vec is not None else 1) // lanes)


def _unroll_taps(sch, reduce: list) -> list:
    """Kernel-tap loops (all reduce loops after the channel one) are unrolled: constant offsets."""
    for lp in reduce[1:]:
        sch.unroll(lp)
    return reduce


@schedule_rule("llvm", "pool")
def schedule_pool(sch, target) -> None:
    """Window pools: parallel over (batch, channel) planes, output rows vectorized along the width,
    the window's taps unrolled; the plane's padded copy is made inside the same parallel loop."""
    anchor = anchor_block(sch)
    prepare(sch, anchor)
    rest = others(sch, anchor)
    spatial, reduce = loop_kinds(sch, anchor)
    wo, vec = split(sch, spatial[-1], vector_factor(extent(sch, spatial[-1]), target.vector_lanes_f32, 1))
    plane = sch.fuse(*spatial[:2])
    sch.reorder(plane, *spatial[2:-1], wo, *reduce, *([vec] if vec else []))
    sch.parallel(plane)
    for lp in reduce:
        sch.unroll(lp)
    if vec is not None:
        sch.vectorize(vec)
    sch.decompose_reduction(anchor, reduce[0])
    for pad in reversed(pad_blocks(sch)):  # consumers first: a phase block reads its pad
        pad_at(sch, pad, plane, target.vector_lanes_f32)
    finish_rest(sch, rest, target)


@schedule_rule("llvm", "attention")
def schedule_attention(sch, target) -> None:
    schedule_reduce(sch, target)
