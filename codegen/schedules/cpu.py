"""CPU (llvm) schedule rules for injective, reduction and opaque kernels: fused parallel outer loops,
vectorized contiguous inner loops, and reductions computed inside their consumer's row loop."""

from __future__ import annotations

import math

from tvm import tirx
from tvm.error import InternalError
from tvm.s_tir import ScheduleError

from . import schedule_rule
from .analysis import (
    REDUCE,
    SPATIAL,
    blocks,
    branches_on_lane_remainder,
    extent,
    inline_all,
    is_reduction,
    loop_iters,
    loop_kinds,
    plain_trailing_loops,
    reads_through_index_math,
)

# Waking the thread pool costs a few microseconds: loop nests smaller than this stay on one core.
MIN_PARALLEL_WORK = 4096
TILE = 16  # transposes move 16 x 16 element tiles


def _blocks(sch) -> list:
    """The root's child blocks; none when the whole function is one extern (opaque) block."""
    try:
        return blocks(sch)
    except ScheduleError:
        return []


def _try(fn, *args) -> None:
    """Apply an optional schedule step; a primitive that does not apply leaves the schedule as it was."""
    try:
        fn(*args)
    except ScheduleError:
        pass


def _work(sch, loops) -> int:
    sizes = [extent(sch, lp) for lp in loops]
    return 0 if any(s is None for s in sizes) else math.prod(sizes)


def _is_empty(sch, block) -> bool:
    return any(extent(sch, lp) == 0 for lp in sch.get_loops(block))


def vector_width(n: int | None, lanes: int) -> int:
    """The widest power-of-two vector (<= lanes) that divides n evenly, so no tail predicate blocks
    vectorization; odd widths are avoided because TVM's bf16 legalization fails on them."""
    if n is None or n < 2:
        return 1
    return math.gcd(n, lanes)


def _parallel(sch, loop, work: int, target) -> None:
    if target.cores > 1 and work >= MIN_PARALLEL_WORK and (extent(sch, loop) or 0) > 1:
        sch.parallel(loop)


def _fuse(sch, loops):
    return sch.fuse(*loops) if len(loops) > 1 else loops[0]


# The narrowest vector along the innermost axis worth keeping a vector within one row for.
MIN_ROW_VECTOR = 4


def vectorize_loops(sch, loops, target, parallel: bool = True) -> None:
    """Fuse loops into one; vectorize its inner part and run the outer part in parallel."""
    if not loops:
        return
    work, lanes = _work(sch, loops), target.vector_lanes_f32
    fused = _fuse(sch, loops)
    n = extent(sch, fused)
    if n is not None and n > 2 * lanes and n % lanes:
        # a tail would keep the whole loop scalar: it gets a loop of its own
        fused = sch.loop_partition(fused, [n - n % lanes, None])[0]
    width = vector_width(extent(sch, fused), lanes)
    outer = fused
    if width > 1:
        outer, inner = sch.split(fused, [None, width])
        sch.vectorize(inner)
    if parallel:
        _parallel(sch, outer, work, target)


def vectorize_spatial(sch, block, target) -> None:
    """Fuse a spatial block's loops; parallel outside, vectorized inside (in tiles for transposes)."""
    if _is_empty(sch, block) or tile_transposed(sch, block, target):
        return
    loops = sch.get_loops(block)
    width = vector_width(extent(sch, loops[-1]), target.vector_lanes_f32)
    if width > 1 and branches_on_lane_remainder(sch, block, loops[-1]):
        # a concat splitting the innermost axis: TVM leaves such a vector loop scalar and LLVM's own
        # loop vectorizer miscompiles it on 16 lanes (a lane's `i % 8` read as `i`); unrolled, each
        # lane's branch folds to one load
        _lanes_within(sch, loops, 1, width, sch.unroll, target)
        return
    if len(loops) > 1 and reads_through_index_math(sch, block):
        # a vector across rows would see the reshape's divisions change inside it (a gather): the
        # vectors stay within the innermost axes that every access indexes unchanged (a channel
        # shuffle's whole planes), or else within the innermost axis
        inner = max(1, plain_trailing_loops(sch, block, loops))
        width = vector_width(_work(sch, loops[-inner:]), target.vector_lanes_f32)
        if width >= MIN_ROW_VECTOR:
            _lanes_within(sch, loops, inner, width, sch.vectorize, target)
            return
    vectorize_loops(sch, loops, target)


def _lanes_within(sch, loops, inner: int, width: int, lanes, target) -> None:
    """The `inner` innermost loops fused and split by `width`, `lanes` (vectorize or unroll) applied to
    the split-off part; the other loops and the rest fused and run in parallel."""
    work = _work(sch, loops)
    outer, part = sch.split(_fuse(sch, loops[-inner:]), [None, width])
    lanes(part)
    _parallel(sch, _fuse(sch, [*loops[:-inner], outer]), work, target)


def _major_read(sch, block):
    """The block's read of its largest-rank operand (the one that decides memory order), or None."""
    reads = sch.get(block).reads
    return max(reads, key=lambda r: len(r.region)) if reads else None


def tile_transposed(sch, block, target) -> bool:
    """A block reading its largest operand's contiguous axis along an outer loop (a transpose) runs in
    TILE x TILE tiles, so that both its reads and its writes stay within cache lines. Inside a tile the
    reads run along the innermost loop, unvectorized: vector gathers or scatters measured slower."""
    loops, iters, read = sch.get_loops(block), loop_iters(sch, block), _major_read(sch, block)
    last = read.region[-1].min if read is not None and len(loops) >= 2 else None
    k = next((i for i, iv in enumerate(iters) if iv is not None and iv.var.same_as(last)), None)
    inner = len(loops) - 1
    if k is None or k == inner or any((extent(sch, loops[i]) or 1) % TILE for i in (k, inner)):
        return False
    work = _work(sch, loops)
    ko, ki = sch.split(loops[k], [None, TILE])
    jo, ji = sch.split(loops[inner], [None, TILE])
    others = [lp for i, lp in enumerate(loops) if i not in (k, inner)]
    sch.reorder(*others, ko, jo, ji, ki)
    _parallel(sch, _fuse(sch, [*others, ko, jo]), work, target)
    return True


def order_by_memory(sch, block) -> None:
    """Reorder a block's loops to follow the memory order of its largest operand, so that the
    innermost loop walks contiguous elements (a reduction over axis 0 then runs outside the spatial loops)."""
    loops, iters, read = sch.get_loops(block), loop_iters(sch, block), _major_read(sch, block)
    if read is None:
        return
    axis_of = {}
    for axis, rng in enumerate(read.region):
        if isinstance(rng.min, tirx.Var):
            axis_of.setdefault(rng.min, axis)
    mapped = [k for k, iv in enumerate(iters) if iv is not None and iv.var in axis_of]
    order = sorted(mapped, key=lambda k: axis_of[iters[k].var])
    if order != mapped:
        new = list(loops)
        for slot, src in zip(mapped, order):
            new[slot] = loops[src]
        sch.reorder(*new)


def _hoist_init(sch, block) -> None:
    """Give a (vectorized) reduction's accumulator init its own loop nest ahead of the reduce loops."""
    kinds = loop_kinds(sch, block)
    if REDUCE in kinds:
        sch.decompose_reduction(block, sch.get_loops(block)[kinds.index(REDUCE)])


def rfactor_lanes(sch, block, target):
    """Split a contiguous inner reduction into vector lanes: an rf block keeps lane-wise partial results
    (stored lane-innermost) and the block itself then reduces just the lanes. None if it does not apply."""
    loops = sch.get_loops(block)
    width = vector_width(extent(sch, loops[-1]), target.vector_lanes_f32)
    if width < 2 or loop_kinds(sch, block)[-1] != REDUCE:
        return None
    try:
        _, lane = sch.split(loops[-1], [None, width])
        return sch.rfactor(lane, factor_axis=len(sch.get(block).writes[0].region))
    except ScheduleError:
        return None  # e.g. (index, value) reducers: the reduction stays scalar


def vectorize_lanes(sch, rf) -> None:
    """Move an rf block's lane loop innermost and vectorize it; its init gets a loop of its own."""
    lane_var = sch.get(rf).writes[0].region[-1].min
    loops, iters = sch.get_loops(rf), loop_iters(sch, rf)
    k = next(i for i, iv in enumerate(iters) if iv is not None and iv.var.same_as(lane_var))
    if k < len(loops) - 1:
        sch.reorder(*loops[k + 1:], loops[k])
    sch.vectorize(sch.get_loops(rf)[-1])
    _hoist_init(sch, rf)


def tile_outer_reduction(sch, block, target):
    """The innermost loop is spatial (the reduced axes lie outside it): split off a vector lane loop and
    return it. With no spatial loop ahead of the reduction (a sum over axis 0), chunks of the inner loop
    move outermost so that they can run in parallel."""
    loops, kinds = sch.get_loops(block), loop_kinds(sch, block)
    n = extent(sch, loops[-1])
    width = vector_width(n, target.vector_lanes_f32)
    if width < 2 or REDUCE not in kinds or kinds[-1] == REDUCE:
        return None
    # ~8 vectors per step along the reduced axis keep its strided walk cache-friendly
    mid = max(d for d in range(1, 9) if (n // width) % d == 0)
    chunk, _, lane = sch.split(loops[-1], [None, mid, width])
    if kinds[0] == REDUCE and extent(sch, chunk) > 1:
        sch.reorder(chunk, *loops[:-1])
    return lane


def _parallel_lead(sch, block, target, work: int) -> None:
    """Fuse the leading spatial loops of a root-level block and run them in parallel."""
    loops, kinds = sch.get_loops(block), loop_kinds(sch, block)
    lead = 0
    while lead < len(loops) - 1 and kinds[lead] == SPATIAL and extent(sch, loops[lead]) is not None:
        lead += 1
    if lead:
        _parallel(sch, _fuse(sch, loops[:lead]), work, target)


def schedule_reduction_block(sch, block, target, ordered: bool = False) -> None:
    """A reduction at the root: parallel over its leading spatial loops, vectorized innermost loop.
    (Parallel goes first: s_tir refuses it over a reduction whose init was split off.)"""
    if _is_empty(sch, block):
        return
    work = _work(sch, sch.get_loops(block))
    if not ordered:
        _try(order_by_memory, sch, block)
    rf = rfactor_lanes(sch, block, target)
    lane = None if rf is not None else tile_outer_reduction(sch, block, target)
    for b in [rf, block]:
        if b is not None:
            _parallel_lead(sch, b, target, work)
    if rf is not None:
        _try(vectorize_lanes, sch, rf)
    elif lane is not None:
        sch.vectorize(lane)
        _try(_hoist_init, sch, block)


def _row_depth(sch, out_block, reductions) -> int:
    """How many leading loops of out_block its reads of the reductions depend on: the reductions can be
    computed inside that loop nest without recomputation. 0 if they depend on other loops."""
    written = {w.source for r in reductions for w in sch.get(r).writes}
    pos = {iv.var: k for k, iv in enumerate(loop_iters(sch, out_block)) if iv is not None}
    extents = [extent(sch, lp) for lp in sch.get_loops(out_block)]
    used, depth = set(), len(extents)
    for read in sch.get(out_block).reads:
        if read.source not in written:
            continue
        for rng in read.region:
            vs = {pos[v] for v in tirx.analysis.undefined_vars(rng.min, []) if v in pos}
            used |= vs
            if vs and not isinstance(rng.min, tirx.Var):
                depth = min(depth, min(vs))  # c // group: compute whole groups once per outer row
    if not used:
        return 0
    need = max(used) + 1
    if any(k not in used and extents[k] != 1 for k in range(need)):
        return 0  # the reduced axis lies between the row loops: computing per row would repeat work
    return min(need, depth)


def _row_fusable(sch, out_block, reductions) -> int:
    """The row depth at which the reductions can move into out_block's loop nest (0: they cannot): all
    reduce contiguous inner axes and are consumed only by out_block or by each other."""
    if not reductions or any(loop_kinds(sch, r)[-1] != REDUCE for r in reductions):
        return 0
    mine = [sch.get(b) for b in [out_block, *reductions]]
    for r in reductions:
        if not all(any(sch.get(c).same_as(m) for m in mine) for c in sch.get_consumers(r)):
            return 0
    return _row_depth(sch, out_block, reductions)


def _fuse_rows(sch, out_block, reductions, depth: int, target) -> None:
    """Compute the reductions (lane-vectorized) inside the output's row loop, one parallel loop over
    rows, with each row's output elements vectorized."""
    work = max(_work(sch, sch.get_loops(b)) for b in [out_block, *reductions])
    pairs = [(r, rfactor_lanes(sch, r, target)) for r in reductions]
    loops = sch.get_loops(out_block)
    for r, rf in reversed(pairs):  # consumers first, so each producer lands before its consumers
        sch.compute_at(r, loops[depth - 1])
        if rf is not None:
            sch.compute_at(rf, loops[depth - 1])
    _parallel(sch, _fuse(sch, loops[:depth]), work, target)
    vectorize_loops(sch, sch.get_loops(out_block)[1:], target, parallel=False)
    for _, rf in pairs:
        if rf is not None:
            _try(vectorize_lanes, sch, rf)


def _succeeds(fn, sch, *args) -> bool:
    """Whether fn(sch, *args) goes through, tried on a copy of the schedule (its RVs stay valid)."""
    try:
        fn(sch.copy(), *args)
        return True
    except (ScheduleError, InternalError):  # InternalError: TVM bugs in rarely used primitive paths
        return False


def _split_blocks(sch):
    """Non-empty blocks with loops, split into reductions and the rest (in program order)."""
    found = [b for b in _blocks(sch) if sch.get_loops(b) and not _is_empty(sch, b)]
    return [b for b in found if is_reduction(sch, b)], [b for b in found if not is_reduction(sch, b)]


def _add_unit_loops(sch) -> None:
    """Give loop-less (0-d) blocks a unit loop: TVM's rfactor fails on a root holding a bare block."""
    for b in _blocks(sch):
        if not sch.get_loops(b):
            sch.add_unit_loop(b)


def _inlined_blocks(sch) -> tuple[list, list]:
    """Inline what can be, give 0-d blocks a loop, and return the (reduction, spatial) blocks left."""
    inline_all(sch)
    _add_unit_loops(sch)
    return _split_blocks(sch)


@schedule_rule("llvm", "reduce")
def schedule_reduce(sch, target) -> None:
    """Reductions, softmax and norms: row-fused when the reductions feed the output row by row."""
    reductions, spatial = _inlined_blocks(sch)
    for r in reductions:
        _try(order_by_memory, sch, r)
    depth = _row_fusable(sch, spatial[-1], reductions) if spatial else 0
    if depth and _succeeds(_fuse_rows, sch, spatial[-1], reductions, depth, target):
        _fuse_rows(sch, spatial[-1], reductions, depth, target)
        spatial = spatial[:-1]
    else:
        for r in reductions:
            schedule_reduction_block(sch, r, target, ordered=True)
    for b in spatial:
        vectorize_spatial(sch, b, target)


@schedule_rule("llvm", "injective")
def schedule_injective(sch, target) -> None:
    reductions, spatial = _inlined_blocks(sch)
    for b in reductions:
        schedule_reduction_block(sch, b, target)
    for b in spatial:
        vectorize_spatial(sch, b, target)


@schedule_rule("llvm", "opaque")
def schedule_opaque(sch, target) -> None:
    """Kernels around extern (hand-written TIR) blocks: those carry their own parallel loops. Their TE
    neighbours are scheduled but never inlined, since extern blocks declare no buffer accesses."""
    _add_unit_loops(sch)
    reductions, spatial = _split_blocks(sch)
    for b in reductions:
        schedule_reduction_block(sch, b, target)
    for b in spatial:
        vectorize_spatial(sch, b, target)
