"""CPU (llvm) schedule rules: parallel outer loops, vectorized inner loops, tiled GEMM."""

from __future__ import annotations

from tvm.s_tir import ScheduleError

from . import schedule_rule
from .analysis import blocks, extent, inline_all, is_reduction


def vectorize_spatial(sch, block, target) -> None:
    """Fuse a block's spatial loops; parallel outside, vectorized inside when the size allows."""
    loops = sch.get_loops(block)
    if not loops:
        return
    fused = sch.fuse(*loops) if len(loops) > 1 else loops[0]
    n, lanes = extent(sch, fused), target.vector_lanes_f32
    if n is not None and n >= lanes and n % lanes == 0:
        outer, inner = sch.split(fused, [None, lanes])
        sch.parallel(outer)
        sch.vectorize(inner)
    else:
        sch.parallel(fused)


@schedule_rule("llvm", "injective")
def schedule_injective(sch, target) -> None:
    inline_all(sch)
    for b in blocks(sch):
        if is_reduction(sch, b):
            schedule_reduction_block(sch, b, target)
        else:
            vectorize_spatial(sch, b, target)


def schedule_reduction_block(sch, block, target) -> None:
    """Parallel over the spatial loops of a reduction; the reduction runs serially inside."""
    loops = sch.get_loops(block)
    iters = sch.get(block).iter_vars
    spatial = [lp for lp, iv in zip(loops, iters) if int(iv.iter_type) == 0]
    if spatial and len(spatial) == len(loops[: len(spatial)]):
        outer = sch.fuse(*spatial) if len(spatial) > 1 else spatial[0]
        try:
            sch.parallel(outer)
        except ScheduleError:
            pass


@schedule_rule("llvm", "reduce")
def schedule_reduce(sch, target) -> None:
    inline_all(sch)
    for b in blocks(sch):
        if is_reduction(sch, b):
            schedule_reduction_block(sch, b, target)
        else:
            vectorize_spatial(sch, b, target)


@schedule_rule("llvm", "opaque")
def schedule_opaque(sch, target) -> None:
    try:
        found = blocks(sch)
    except ScheduleError:
        return
    for b in found:
        if sch.get(b).iter_vars:
            vectorize_spatial(sch, b, target)
