"""CPU (llvm) schedule for a block-fused kernel (passes/block_fuse.py): expand conv -> depthwise conv ->
project conv [-> residual add] computed band by band over output rows, so that the expanded
intermediate of one band (with its halo rows) stays in cache and never goes to memory."""

from __future__ import annotations

from tvm.s_tir import ScheduleError
from tvm.tirx import ForKind

from ..lower.conv import CHANNEL_CONV_BLOCK, DEPTHWISE_BLOCK
from ..lower.line_block import RULE
from . import schedule_rule
from .analysis import REDUCE, SPATIAL, blocks, extent, inline_all, is_reduction, loop_kinds, try_reverse_inline
from .tiling import LONG_VECTOR, inner_width, name, pad_blocks, split, split_even, vectorize_inner

# The expanded rows one band holds (band + halo, all expanded channels) should stay in a core's L2
# (1 MiB on the AMD EPYC measured) next to the band's pad copy and depthwise output.
BAND_BYTES = 384 * 1024
MAX_BAND = 8
# A pointwise conv's register tile, (output channels, rows) x one vector. The project conv's 6 x 2:
# 12 accumulators fed per input channel by 2 vector loads and 6 weight broadcasts. The expand conv
# keeps one row (8 x 1): its halo rows carry a predicate that would sit inside an unrolled 2-row tile.
PROJECT_TILE, EXPAND_TILE = (6, 2), (8, 1)


def conv_blocks(sch) -> list:
    """The kernel's convolution (reduction) blocks, in dataflow order."""
    prefixes = ("conv", CHANNEL_CONV_BLOCK, DEPTHWISE_BLOCK)
    return [b for b in blocks(sch) if is_reduction(sch, b) and name(sch, b).startswith(prefixes)]


@schedule_rule("llvm", RULE)
def schedule_line_block(sch, target) -> None:
    """The line-buffer block kernel (lower/line_block.py) is hand-written TIR: its loops are already
    parallel over tasks, register-tiled and vectorized for the target it was built for."""


@schedule_rule("llvm", "block")
def schedule_block(sch, target, band: int | None = None) -> None:
    """For blocks the line kernel does not cover: tile the output over bands of rows (parallel); every
    producer is computed inside the band loop, TVM inferring the halo rows each band needs, and
    vectorized along the width."""
    lanes = target.vector_lanes_f32
    _inline_elementwise(sch)
    band = band or band_rows(sch, target)
    # The expanded map's buffer keeps its full size (its halo rows carry a predicate that buffer
    # compaction cannot bound): rows outermost, so that a band's rows are one contiguous stretch.
    sch.transform_layout(conv_blocks(sch)[0], ("write", 0), lambda n, c, h, w: (n, h, c, w))
    out = blocks(sch)[-1]
    if is_reduction(sch, out):  # the project conv is the output: tile it like the others, copy it out
        out = sch.cache_write(out, 0, "global")
    n, o, h, w = sch.get_loops(out)[:4]
    ho, hi = split(sch, h, band)
    sch.reorder(n, ho, o, *([hi] if hi is not None else []), w)
    outer = sch.fuse(n, ho)
    sch.parallel(outer)  # while only the output is under it: decomposed reductions fail the check
    producers = [b for b in blocks(sch) if not sch.get(b).same_as(sch.get(out))]
    for b in reversed(producers):  # consumers first: each producer sees its readers inside the band
        sch.compute_at(b, outer)
    for pad in pad_blocks(sch):
        _fill_border(sch, pad, lanes)
    for i, label in enumerate([name(sch, b) for b in conv_blocks(sch)]):
        _register_tile(sch, sch.get_sblock(label), lanes, PROJECT_TILE if i else EXPAND_TILE)
    for b in blocks(sch):  # what no write-back absorbed
        if not _vectorized(sch, b):
            vectorize_inner(sch, b, lanes)


def _vectorized(sch, block) -> bool:
    return any(int(sch.get(lp).kind) == int(ForKind.VECTORIZED) for lp in sch.get_loops(block))


def _fill_border(sch, pad, lanes: int) -> None:
    """The pad's border filled with constants apart, so that its interior is a plain copy (which the
    expand conv's write-back then absorbs)."""
    try:
        vectorize_inner(sch, sch.decompose_padding(pad, sch.get_loops(pad)[1]), lanes)
    except ScheduleError:
        pass


def band_rows(sch, target) -> int:
    """The most output rows (2 to MAX_BAND) whose expanded input rows fit BAND_BYTES, while the bands
    give every core two; a divisor of the rows if one is at least half that (a ragged last band puts
    a predicate on the epilogues, which then cannot ride on the write-backs)."""
    expand = conv_blocks(sch)[0]
    _, c, rows, width = [int(d) for d in sch.get(expand).writes[0].source.shape]
    # at least 2 rows: the register tiles split a band's row loop, which a 1-row band would not have
    fits = [b for b in range(MAX_BAND, 1, -1)
            if 4 * c * (b + 2) * width <= BAND_BYTES and -(-rows // b) >= 2 * target.cores] or [2]
    even = [b for b in fits if rows % b == 0 and 2 * b >= fits[0]]
    return even[0] if even else fits[0]


def _inline_elementwise(sch) -> None:
    """Inline weight views and elementwise blocks read only by spatial blocks (epilogues into the pad
    or the output); one read by a convolution stays, so that it is computed once, not per reader."""
    inline_all(sch, skip=_feeds_a_convolution)


def _feeds_a_convolution(sch, block) -> bool:
    if name(sch, block).startswith("pad"):
        return True
    return not name(sch, block).startswith("unpack") and any(is_reduction(sch, r) for r in sch.get_consumers(block))


def _register_tile(sch, block, lanes: int, tile: tuple[int, int]) -> None:
    """A convolution of the band accumulated in registers: pointwise, a `tile` of (output channels, rows)
    x one vector; depthwise, one channel x a whole row (each broadcast tap weight feeds its vectors)."""
    own = sch.get_loops(block)[1:]  # below the band loop
    kinds = loop_kinds(sch, block)[1:]
    spatial = [lp for lp, k in zip(own, kinds) if k == SPATIAL]
    reduce = [lp for lp, k in zip(own, kinds) if k == REDUCE]
    o, h, w = spatial[-3:]
    depthwise = name(sch, block).startswith(DEPTHWISE_BLOCK)
    width = extent(sch, w) or 1
    wo, wv = split(sch, w, width if depthwise and width <= LONG_VECTOR else inner_width(width, lanes))
    oo, oi = split_even(sch, o, 1 if depthwise else tile[0])
    ho, hi = split_even(sch, h, 1 if depthwise else tile[1])
    outer = [*spatial[:-3], oo, ho, *([wo] if wv is not None else [])]
    vec = wv if wv is not None else wo
    sch.reorder(*outer, *reduce, *[lp for lp in (oi, hi) if lp is not None], vec)
    wb = sch.cache_write(block, 0, "local")
    sch.reverse_compute_at(wb, outer[-1])
    sch.vectorize(vec)  # before decompose_reduction: the init copies the loop kinds
    for lp in (oi, hi):
        if lp is not None:
            sch.unroll(lp)
    sch.decompose_reduction(block, reduce[0])
    sch.vectorize(sch.get_loops(wb)[-1])
    # The epilogue (bias, clip, residual add) rides on the write-back from registers, not a pass of its own.
    while len(readers := sch.get_consumers(wb)) == 1 and try_reverse_inline(sch, readers[0]):
        pass
