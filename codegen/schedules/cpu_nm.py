"""CPU schedule for nm_linear kernels (codegen/lower/nm_linear.py): a register tile of accumulators per
parallel task, the sparse reduction (groups, kept entries) outside it, the tile unrolled and its
innermost loop vectorized; the positions are decoded once per entry and tile."""

from __future__ import annotations

from tvm.s_tir.schedule import ScheduleError

from ...ir.sparse_formats import LANES
from . import schedule_rule
from .analysis import blocks, extent, inline_all, is_reduction
from .cpu import _fuse, _parallel, _try, _work, schedule_opaque, vectorize_spatial

# row form: blocks of 8 output rows per tile (independent FMA chains); fewer when codes are decoded too,
# whose temporaries would otherwise spill (measured on the 4096 GEMV)
ROW_BLOCKS = {False: 4, True: 2}
COLUMN_ROWS = 3  # column form: output rows per tile (3 x 4 accumulators, measured best)
PANEL_BYTES = 16 * 1024  # column form: the slice of x one chunk of groups reads, kept in L1


def _group_inputs(sch, block) -> int:
    """m, the inputs per group: an annotation the lowering puts on the block."""
    return int(sch.get(block).annotations.get("nm_m", 4))


def _divisor(n: int | None, choices) -> int:
    return next((c for c in choices if n and n % c == 0), 1)


def _vectorize_last(sch, block, target) -> None:
    """Vectorize the block's innermost loop when it is the format's LANES rows (or one vector) wide."""
    loop = sch.get_loops(block)[-1]
    if extent(sch, loop) in (LANES, target.vector_lanes_f32):
        sch.vectorize(loop)


def _row_form(sch, block, target) -> None:
    """nm_part [rows.., row blocks, n, 8 lanes] reduced over groups: per task a tile of row blocks,
    their accumulators in a local (register) tile written back once."""
    *outer, ob, j, lane, g = sch.get_loops(block)
    blocks_per_tile = ROW_BLOCKS[bool(sch.get(block).annotations.get("nm_quantized", 0))]
    obo, obi = sch.split(ob, [None, _divisor(extent(sch, ob), (blocks_per_tile, 2))])
    sch.reorder(*outer, obo, g, obi, j, lane)
    task = _fuse(sch, [*outer, obo])
    _parallel(sch, task, _work(sch, [task, obi, j, lane]), target)
    writeback = sch.cache_write(block, 0, "local")
    sch.reverse_compute_at(writeback, task)
    sch.unroll(obi)
    sch.unroll(j)
    _vectorize_last(sch, block, target)  # before the init is split off: s_tir refuses after
    init = sch.decompose_reduction(block, g)
    for b in (init, writeback):
        _vectorize_last(sch, b, target)


def _column_form(sch, block, target) -> None:
    """nm_columns [lead, outputs, columns] reduced over groups and entries; lanes along the columns.
    Per task, a panel of columns; the groups in chunks whose x panel stays in L1 across the rows."""
    lead, o, p, g, j = sch.get_loops(block)
    tile = int(sch.get(block).annotations["nm_panel"])
    width = next((w for w in (target.vector_lanes_f32, LANES) if tile % w == 0), None)
    if width is None:
        raise ScheduleError("the panel is narrower than a vector")
    po, pt, lane = sch.split(p, [None, tile // width, width])
    oo, oi = sch.split(o, [None, _divisor(extent(sch, o), (COLUMN_ROWS, 2))])
    go, gi = sch.split(g, [None, max(1, PANEL_BYTES // (tile * 4 * _group_inputs(sch, block)))])
    sch.reorder(lead, po, go, oo, gi, j, oi, pt, lane)
    task = sch.fuse(lead, po)
    _parallel(sch, task, _work(sch, [task, go, oo, oi, pt, lane]), target)
    for lp in (oi, pt):
        sch.unroll(lp)
    sch.vectorize(lane)
    init = sch.decompose_reduction(block, go)
    _vectorize_last(sch, init, target)


@schedule_rule("llvm", "nm_linear")
def schedule_nm_linear(sch, target) -> None:
    if {"nm_gemv", "nm_gemm"} & {sch.get(b).name_hint for b in blocks(sch)}:  # hand-written (lower/nm_*.py)
        schedule_opaque(sch, target)
        return
    keep = [b for b in blocks(sch) if sch.get(b).name_hint == "nm_x_panel"]
    inline_all(sch, keep=keep)
    for b in blocks(sch):
        name = sch.get(b).name_hint
        if name == "nm_part":
            _try(_row_form, sch, b, target)
        elif name == "nm_columns":
            _try(_column_form, sch, b, target)
        elif not is_reduction(sch, b):
            _try(vectorize_spatial, sch, b, target)
