"""CPU (llvm) schedule for a block-fused kernel (passes/block_fuse.py): expand conv -> depthwise conv ->
project conv [-> residual add] computed band by band over output rows, so that the expanded
intermediate of one band (with its halo rows) stays in cache and never goes to memory."""

from __future__ import annotations

from tvm.s_tir import ScheduleError

from ..lower.conv import CHANNEL_CONV_BLOCK, DEPTHWISE_BLOCK
from . import schedule_rule
from .analysis import blocks, is_output, is_reduction
from .cpu import REDUCE, SPATIAL, loop_kinds
from .cpu_conv import schedule_conv
from .tiling import name, pad_blocks, split, vectorize_inner

# The expanded rows one band holds (band + halo, all expanded channels) should stay in a core's L2
# (512 KiB assumed) next to the band's depthwise output; half of it is theirs.
BAND_BYTES = 256 * 1024
MAX_BAND = 8


def conv_blocks(sch) -> list:
    """The kernel's convolution (reduction) blocks, in dataflow order."""
    prefixes = ("conv", CHANNEL_CONV_BLOCK, DEPTHWISE_BLOCK)
    return [b for b in blocks(sch) if is_reduction(sch, b) and name(sch, b).startswith(prefixes)]


@schedule_rule("llvm", "conv2d")
def schedule_conv_or_block(sch, target) -> None:
    """A conv2d kernel holding three convolutions is a block (only block-fuse builds those); any other
    takes the convolution rule."""
    if len(conv_blocks(sch)) == 3 and any(name(sch, b).startswith(DEPTHWISE_BLOCK) for b in conv_blocks(sch)):
        return schedule_block(sch, target)
    return schedule_conv(sch, target)


@schedule_rule("llvm", "block")
def schedule_block(sch, target, band: int | None = None) -> None:
    """Tile the output over bands of rows (parallel); every producer is computed inside the band loop,
    TVM inferring the halo rows each band needs, and vectorized along the width."""
    lanes = target.vector_lanes_f32
    _inline_elementwise(sch)
    out = blocks(sch)[-1]
    n, o, h, w = sch.get_loops(out)[:4]
    band = band or band_rows(sch, target)
    ho, hi = split(sch, h, band)
    sch.reorder(n, ho, o, *([hi] if hi is not None else []), w)
    outer = sch.fuse(n, ho)
    sch.parallel(outer)  # while only the output is under it: decomposed reductions fail the check
    producers = [b for b in blocks(sch) if not sch.get(b).same_as(sch.get(out))]
    for b in reversed(producers):  # consumers first: each producer sees its readers inside the band
        sch.compute_at(b, outer)
    for b in producers:
        _vectorize_block(sch, b, lanes)
    if not is_reduction(sch, out):
        vectorize_inner(sch, out, lanes)


def band_rows(sch, target) -> int:
    """The most output rows (<= MAX_BAND) whose expanded input rows fit BAND_BYTES, fewer if the
    bands would not give every core two."""
    expand = conv_blocks(sch)[0]
    _, c, rows, width = [int(d) for d in sch.get(expand).writes[0].source.shape]
    band = MAX_BAND
    while band > 1 and (4 * c * (band + 2) * width > BAND_BYTES or -(-rows // band) < 2 * target.cores):
        band -= 1
    return band


def _inline_elementwise(sch) -> None:
    """Inline weight views and elementwise blocks read only by spatial blocks (epilogues into the pad
    or the output); one read by a convolution stays, so that it is computed once, not per reader."""
    changed = True
    while changed:
        changed = False
        for b in blocks(sch):
            if is_output(sch, b) or is_reduction(sch, b) or name(sch, b).startswith("pad"):
                continue
            readers = sch.get_consumers(b)
            if not name(sch, b).startswith("unpack") and any(is_reduction(sch, r) for r in readers):
                continue
            try:
                sch.compute_inline(b)
                changed = True
            except ScheduleError:
                continue


def _vectorize_block(sch, block, lanes: int) -> None:
    """Reduction loops outside the output width, the width vectorized; the pad's border fill apart."""
    if name(sch, block) in {name(sch, p) for p in pad_blocks(sch)}:
        vectorize_inner(sch, block, lanes)
        return
    if not is_reduction(sch, block):
        vectorize_inner(sch, block, lanes)
        return
    own = sch.get_loops(block)[1:]  # below the band loop
    kinds = loop_kinds(sch, block)[1:]
    spatial = [lp for lp, k in zip(own, kinds) if k == SPATIAL]
    reduce = [lp for lp, k in zip(own, kinds) if k == REDUCE]
    sch.reorder(*spatial[:-1], *reduce, spatial[-1])
    vectorize_inner(sch, block, lanes)  # before decompose_reduction: the init copies the loop kinds
    sch.decompose_reduction(block, reduce[0])
