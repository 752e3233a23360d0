"""CPU schedule for quant_dense kernels (weight-only quantized GEMV/GEMM), over the blocks of
codegen/lower/quant_dense.py: parallel chunks of output rows; per row and group, several vector
accumulators of partial dot products over the packed codes (unpacked in registers), scaled once
per group; the small per-group input sums and offset terms at the root."""

from __future__ import annotations

from ...ir.quantization import LANES
from . import schedule_rule
from .analysis import blocks, extent, inline_all
from .cpu import (
    REDUCE,
    _parallel,
    _try,
    _work,
    loop_kinds,
    schedule_opaque,
    schedule_reduction_block,
    vectorize_spatial,
)

# Bytes of partial sums per chunk of rows, kept in cache. Buffers live per chunk, not per row: a buffer
# inside a parallel loop costs a workspace allocation per iteration.
CHUNK_BYTES = 32 * 1024
# Blocks this rule tiles itself; the others left at the root are elementwise over the output rows.
_OWN = ("group_dot", "group_dot_init", "scaled_lanes", "scaled_lanes_init")


def _lanes_inside(sch, block, width: int) -> None:
    """Move the block's reduction loop (if any is left: a group of one vector of lanes has none)
    outside its lane loop; the lanes become unrolled vectors of `width`."""
    loops = sch.get_loops(block)
    red = loops[-1] if loop_kinds(sch, block)[-1] == REDUCE else None
    lane = loops[-2] if red else loops[-1]
    if red:
        sch.reorder(red, lane)
    if (extent(sch, lane) or 0) % width == 0:
        lane, vec = sch.split(lane, [None, width])
        sch.unroll(lane)
        sch.vectorize(vec)
    # vectorize first: s_tir refuses to vectorize over an update block whose init was split off
    sch.decompose_reduction(block, red or lane)


@schedule_rule("llvm", "quant_dense")
def schedule_quant_dense(sch, target) -> None:
    if "group_dot" not in {sch.get(b).name_hint for b in blocks(sch)}:  # int8 activations: a TIR dot product
        schedule_opaque(sch, target)
        return
    inline_all(sch)
    part, scaled, lane_sum = map(sch.get_sblock, ("group_dot", "scaled_lanes", "lane_sum"))
    work = _work(sch, sch.get_loops(part))
    names = {sch.get(b).name_hint for b in blocks(sch)}
    for name in ("group_sum", "offset_sum", "spqr_outliers"):
        if name in names:
            schedule_reduction_block(sch, sch.get_sblock(name), target)
    outputs = extent(sch, sch.get_loops(lane_sum)[-2])
    rows = sch.fuse(*sch.get_loops(lane_sum)[:-1])  # batch and output rows
    lanes, groups = extent(sch, sch.get_loops(scaled)[-2]), extent(sch, sch.get_loops(scaled)[-1])
    most = max(1, CHUNK_BYTES // (groups * lanes * 4))
    # a chunk stays within one batch row: s_tir cannot compute a block at a chunk that straddles two
    chunk, _ = sch.split(rows, [None, max(d for d in range(1, min(most, outputs) + 1) if outputs % d == 0)])
    _parallel(sch, chunk, work, target)
    sch.compute_at(scaled, chunk)
    sch.compute_at(part, chunk)
    # codes are packed LANES words wide (one shift per LANES codes): wider vectors would gather
    _lanes_inside(sch, part, min(LANES, target.vector_lanes_f32))
    _lanes_inside(sch, scaled, target.vector_lanes_f32)
    for b in blocks(sch):  # the output block and its fused epilogue: O(rows) elementwise work
        if loop_kinds(sch, b) and "R" not in loop_kinds(sch, b) and sch.get(b).name_hint not in _OWN:
            _try(vectorize_spatial, sch, b, target)

