"""Register tiling shared by the CPU GEMM and convolution rules: find the anchor reduction, fuse its
epilogue into the tile's write-back, pick tile sizes, lay the loops out, and schedule the pads."""

from __future__ import annotations

import math

from tvm.s_tir import ScheduleError
from tvm.tirx import ForKind

from ..lower.conv import PAD_BLOCK, PHASE_BLOCK
from .analysis import REDUCE_ITER, blocks, extent, inline_all, is_reduction, try_reverse_inline

# Vector accumulators a register tile may hold: AVX2 has 16 registers, a few stay free for the
# loaded operands and the broadcast.
ACC_BUDGET = 12
# Materialized input copies: `pad` blocks (bounds checks, split by decompose_padding) and `phase`
# blocks (plain strided copies), as the conv and pool lowerings name them.
PAD_PREFIX, PHASE_PREFIX = PAD_BLOCK, PHASE_BLOCK
# The longest row vectorized whole when no vector width divides it (longer ones spill registers).
LONG_VECTOR = 64


def anchor_block(sch):
    """The reduction block with the largest iteration space (the matmul or conv of the kernel)."""
    found = [b for b in blocks(sch) if is_reduction(sch, b) and sch.get_loops(b)]
    volume = lambda b: math.prod(extent(sch, lp) or 1 for lp in sch.get_loops(b))
    return max(found, key=volume) if found else None


def loop_kinds(sch, block) -> tuple[list, list]:
    """(spatial loops, reduce loops) of a block whose loops bind its iter vars one to one, in order."""
    loops, iters = sch.get_loops(block), sch.get(block).iter_vars
    spatial = [lp for lp, iv in zip(loops, iters) if int(iv.iter_type) != REDUCE_ITER]
    return spatial, [lp for lp, iv in zip(loops, iters) if int(iv.iter_type) == REDUCE_ITER]


def name(sch, block) -> str:
    return sch.get(block).name_hint


def in_parallel_loop(sch, block) -> bool:
    """Whether a rule already placed the block inside a parallel loop nest."""
    return any(int(sch.get(lp).kind) == int(ForKind.PARALLEL) for lp in sch.get_loops(block))


def pad_blocks(sch) -> list:
    """The pad blocks and then the phase blocks (which read the pads)."""
    return [b for prefix in (PAD_PREFIX, PHASE_PREFIX) for b in blocks(sch) if name(sch, b).startswith(prefix)]


def prepare(sch, anchor, keep=()) -> None:
    """Inline prologues (weight views, casts) into the anchor; pads (and `keep`) stay materialized."""
    inline_all(sch, keep=[anchor, *pad_blocks(sch), *keep])


def writeback(sch, anchor):
    """Accumulate the anchor in registers; its epilogue (bias, activation, residual add, cast) is
    inlined into the block that writes the tile back. Returns that block."""
    wb = sch.cache_write(anchor, 0, "local")
    while True:
        consumers = sch.get_consumers(wb)
        # A consumer over fewer points (the slice dropping padded rows) keeps its block: inlined, its
        # bounds would become a predicate that reverse_compute_at then drops.
        if len(consumers) != 1 or _points(sch, consumers[0]) < _points(sch, wb) \
                or not try_reverse_inline(sch, consumers[0]):
            return wb


def _points(sch, block) -> int:
    return math.prod(int(iv.dom.extent) for iv in sch.get(block).iter_vars)


def divisors(n: int, most: int) -> list[int]:
    return [d for d in range(1, min(n, most) + 1) if n % d == 0]


def vector_factor(n: int, lanes: int, widest: int = 2) -> int:
    """The vector length along the contiguous axis: a multiple of the lanes dividing n (at most
    `widest` vectors), n itself when short, a divisor over half a vector, else one predicated vector."""
    for v in range(widest, 0, -1):
        if n % (v * lanes) == 0:
            return v * lanes
    if n <= widest * lanes:
        return n
    near = [d for d in divisors(n, widest * lanes) if 2 * d > lanes]
    return near[-1] if near else lanes


def row_tiles(extents: list[int], vectors: int, loads: list[int]) -> list[int]:
    """Register-tile factors for the broadcast axes: enough accumulators to hide the FMA latency
    (8 at 2 FMA/cycle x 4 cycles), then the most FMAs per load. loads[i]: vector loads per unit of
    axis i per step (0 for an axis that selects broadcast scalars)."""
    best, best_key = [1] * len(extents), None
    for combo in _combos([divisors(e, ACC_BUDGET) for e in extents]):
        acc = math.prod(combo) * vectors
        if acc > ACC_BUDGET:
            continue
        cost = sum(f * (ld * vectors if ld else 1) for f, ld in zip(combo, loads))
        key = (min(acc, 8), acc / cost, acc)
        if best_key is None or key > best_key:
            best, best_key = list(combo), key
    return best


def _combos(options: list[list[int]]):
    if not options:
        yield ()
        return
    for head in options[0]:
        for rest in _combos(options[1:]):
            yield (head, *rest)


def split(sch, loop, factor: int):
    """(outer, inner) loops; no inner loop for a factor of 1; a factor over the extent takes it all."""
    factor = min(factor, extent(sch, loop) or factor)
    if factor <= 1:
        return loop, None
    return tuple(sch.split(loop, [None, factor]))


def split_even(sch, loop, most: int):
    """(outer, inner) loops with the largest inner extent <= most that divides the loop evenly."""
    return split(sch, loop, divisors(extent(sch, loop) or 1, most)[-1])


def lay_out(sch, anchor, wb, outer: list, reduce: list, inner: list, vec, parallel: int,
            vectorize_wb: bool = True) -> None:
    """Order the anchor's loops outer | reduce | inner (unrolled) | vec (vectorized); the write-back
    goes inside the last outer loop (its innermost loop vectorized unless told not to); the first
    `parallel` outer loops run on the thread pool."""
    inner = [lp for lp in inner if lp is not None]
    sch.reorder(*outer, *reduce, *inner, *([vec] if vec is not None else []))
    lead = sch.fuse(*outer[:parallel]) if parallel > 1 else outer[0]
    sch.parallel(lead)
    at = outer[-1] if len(outer) > parallel else lead
    sch.reverse_compute_at(wb, at)
    epilogue_at(sch, wb, at)
    for lp in inner:
        sch.unroll(lp)
    if vec is not None:
        sch.vectorize(vec)
        if vectorize_wb:
            sch.vectorize(sch.get_loops(wb)[-1])
    if reduce:
        sch.decompose_reduction(anchor, reduce[0])


def epilogue_at(sch, wb, at) -> None:
    """Consumers that could not be inlined into the write-back (they read other intermediates) follow
    it into the tile loop, each vectorized along its innermost loop; the rest stay at the root."""
    block = wb
    while len(consumers := sch.get_consumers(block)) == 1:
        block = consumers[0]
        try:
            sch.reverse_compute_at(block, at)
        except (ScheduleError, ValueError):  # ValueError: a read TVM cannot invert (a channel cut)
            return
        innermost = sch.get_loops(block)[-1]
        if not sch.get(innermost).same_as(sch.get(at)):  # a one-point block has no loop of its own
            sch.vectorize(innermost)


def parallel_depth(sch, outer: list, cores: int) -> int:
    """How many leading outer loops to fuse so that every core gets a few chunks of work."""
    total = 1
    for depth, lp in enumerate(outer, 1):
        total *= extent(sch, lp) or 1
        if total >= 4 * cores:
            return depth
    return len(outer)


def schedule_pads(sch, lanes: int, pads=None) -> None:
    """Pads at the root (by default all pad and phase blocks): the padding filled with constants and
    the interior copied in separate, condition-free loop nests; a zero-stuffing pad stays scalar."""
    for pad in pad_blocks(sch) if pads is None else pads:
        if name(sch, pad).startswith(PHASE_PREFIX):
            copy_rows(sch, pad, lanes)
            continue
        try:
            fill = sch.decompose_padding(pad, sch.get_loops(pad)[0])
        except ScheduleError:
            copy_rows(sch, pad, 1)
            continue
        copy_rows(sch, fill, lanes)
        copy_rows(sch, pad, lanes)


def copy_rows(sch, block, lanes: int) -> None:
    """A copy nest run row by row: outer loops fused and parallel, the row vectorized (width 1: scalar)."""
    loops = sch.get_loops(block)
    if len(loops) > 1:
        sch.parallel(sch.fuse(*loops[:-1]))
    if lanes > 1:
        vectorize_inner(sch, block, lanes)


def vectorize_inner(sch, block, lanes: int) -> None:
    """Vectorize a block's innermost loop by the widest even vector; a short row no vector width
    divides (13 columns) goes whole, as one long vector LLVM splits into registers plus a tail."""
    loops = sch.get_loops(block)
    if extent(sch, loops[-1]) == 1:  # one key (a single-token sequence): a unit loop, nothing to vectorize
        return
    sch.vectorize(split(sch, loops[-1], inner_width(extent(sch, loops[-1]) or 1, lanes))[1] or loops[-1])


def inner_width(n: int, lanes: int) -> int:
    """The vector length vectorize_inner uses for a loop of n."""
    width = max(divisors(n, lanes))
    return n if 2 * width < lanes and n <= LONG_VECTOR else width


def pad_at(sch, pad, loop, lanes: int) -> None:
    """Compute a pad or phase block inside `loop` (the slice its consumers there read); a pad as a
    constant fill plus a condition-free copy of the interior, both vectorized."""
    sch.compute_at(pad, loop)
    if name(sch, pad).startswith(PHASE_PREFIX):
        vectorize_inner(sch, pad, lanes)
        return
    loops = sch.get_loops(pad)
    depth = next(i for i, lp in enumerate(loops) if sch.get(lp).same_as(sch.get(loop))) + 1
    try:
        fill = sch.decompose_padding(pad, loops[depth])
    except ScheduleError:
        return
    vectorize_inner(sch, fill, lanes)
    vectorize_inner(sch, pad, lanes)
