"""CPU (llvm) schedules for convolutions: one register-tiling strategy per shape of convolution."""

from __future__ import annotations

from tvm.tirx import IndexMap
from tvm.tirx.analysis import undefined_vars

from ..lower.conv import (
    BLOCKED_INPUT_CHANNEL_BLOCK,
    CHANNEL_CONV_BLOCK,
    DEPTHWISE_BLOCK,
    DEPTHWISE_CHANNEL_BLOCK,
    GROUP_ATTR,
    GROUPED_CHANNEL_BLOCK,
)
from ..lower.layouts import BLOCKED_STORE, CHANNEL_BLOCK
from . import schedule_rule
from .analysis import bindings, extent
from .cpu import schedule_reduce, schedule_reduction_block, vectorize_spatial
from .cpu_linalg import finish_rest, others, tile_anchor, vectors
from .tiling import (
    ACC_BUDGET,
    lay_out,
    loop_kinds,
    name,
    pad_at,
    pad_blocks,
    parallel_depth,
    row_tiles,
    schedule_pads,
    split,
    vector_factor,
)


@schedule_rule("llvm", "conv2d", "conv")
def schedule_conv(sch, target) -> None:
    """out[n, o, *s] += pad[n, c, *(s * stride + k * dil)] * w[o, c, *k], vectorized along the output
    width, by the strategy the convolution's shape calls for (see CONV_STRATEGIES)."""
    tiled = tile_anchor(sch, target)
    if tiled is None:
        return schedule_reduce(sch, target)
    anchor, wb, spatial, reduce = tiled
    rest = others(sch, anchor, wb)
    CONV_STRATEGIES[_conv_kind(sch, anchor, reduce)](sch, anchor, wb, spatial, reduce, target)
    finish_rest(sch, rest, target)


def _conv_kind(sch, anchor, reduce) -> str:
    if name(sch, anchor).startswith(DEPTHWISE_CHANNEL_BLOCK):
        return "channels"
    if name(sch, anchor).startswith(DEPTHWISE_BLOCK):
        return "depthwise"
    if name(sch, anchor).startswith(CHANNEL_CONV_BLOCK):
        return "channels"
    taps = all(extent(sch, lp) == 1 for lp in reduce[1:])
    return "pointwise" if taps and not pad_blocks(sch) else "general"


def _general_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """Output channels (broadcast weights) x output rows x one or two vectors of width in registers,
    over all input channels and taps. Each parallel band of output rows pads the input rows it
    reads (in cache); with too few bands, channel blocks run in parallel too, on a padded copy."""
    lanes = target.vector_lanes_f32
    batch, o, *rows, w = spatial
    wo, vec = split(sch, w, vector_factor(extent(sch, w), lanes))
    row = rows[-1] if rows else None
    fo, fr = row_tiles([extent(sch, o), extent(sch, row) if row is not None else 1], vectors(sch, vec, lanes),
                       [0, 1])
    oo, oi = split(sch, o, fo)
    ro, ri = split(sch, row, fr) if row is not None else (None, None)
    lead = [batch, *rows[:-1], *([ro] if ro is not None else [])]
    outer = [*lead, oo, wo]
    depth = max(len(lead), parallel_depth(sch, outer, target.cores))
    if depth > len(lead):
        schedule_pads(sch, lanes)
    lay_out(sch, anchor, wb, outer, _unroll_taps(sch, reduce), [oi, ri], vec, depth)
    band = sch.get_loops(sch.get_sblock(name(sch, anchor)))[0]
    for pad in reversed(pad_blocks(sch)) if depth == len(lead) else []:  # consumers (phase) first
        pad_at(sch, pad, band, lanes)


def _pointwise_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """A 1x1, stride-1 convolution is a GEMM: output channels x (all output positions, flattened)."""
    lanes = target.vector_lanes_f32
    _flatten_positions(sch, anchor, wb, [extent(sch, lp) for lp in spatial[2:]])
    flat, reduce = loop_kinds(sch, anchor)
    if len(flat) != 3:  # unit axes stayed apart (a one-channel 1x1 conv): nothing worth tiling
        schedule_reduction_block(sch, anchor, target)
        vectorize_spatial(sch, wb, target)
        return
    batch, o, p = flat
    per_group = sch.get(anchor).annotations.get(GROUP_ATTR)
    if per_group is not None and extent(sch, p) % lanes == 0:
        # Output channels of one group only (their input rows are then the tile's): the tile's
        # channels and position vectors are chosen together, 17 channels a group taking 1 x 7.
        fo, nvec = row_tiles([int(per_group), extent(sch, p) // lanes], 1, [0, 1])
        po, pv = split(sch, p, nvec * lanes)
        pv, vec = split(sch, pv, lanes) if pv is not None else (None, None)
    else:
        po, vec = split(sch, p, vector_factor(extent(sch, p), lanes))
        (fo,) = row_tiles([extent(sch, o)], vectors(sch, vec, lanes), [0])
        pv = None
    oo, oi = split(sch, o, fo)
    outer = [batch, po, oo]
    lay_out(sch, anchor, wb, outer, reduce, [oi, pv], vec, parallel_depth(sch, outer, target.cores))


def _flatten_positions(sch, anchor, wb, sizes: list[int]) -> None:
    """Make the output positions one axis in the anchor (whose 1x1 taps go), its accumulator and
    the write-back, so that a tile along it is exact even where it crosses a row."""
    n = len(sizes)

    def flat(idx):
        pos = idx[0]
        for i, size in zip(idx[1:], sizes[1:]):
            pos = pos * size + i
        return pos

    index_map = lambda fn, ndim: IndexMap.from_func(fn, ndim=ndim, index_dtype="int32")
    out = index_map(lambda b, o, *s: (b, o, flat(s)), n + 2)
    sch.transform_layout(anchor, ("write", 0), out)
    sch.transform_block_layout(anchor, index_map(lambda b, o, *r: (b, o, flat(r[:n]), r[n]), 2 * n + 3))
    sch.transform_block_layout(wb, out)


def _depthwise_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """One channel plane per parallel iteration: its padded copy is made there (in cache), then
    output rows x vectors of width in registers over the taps."""
    lanes = target.vector_lanes_f32
    batch, o, *rows, w = spatial
    wo, vec = split(sch, w, vector_factor(extent(sch, w), lanes))
    row = rows[-1] if rows else None
    (fr,) = row_tiles([extent(sch, row) if row is not None else 1], vectors(sch, vec, lanes), [1])
    ro, ri = split(sch, row, fr) if row is not None else (None, None)
    outer = [batch, o, *rows[:-1], *([ro] if ro is not None else []), wo]
    lay_out(sch, anchor, wb, outer, _unroll_taps(sch, reduce), [ri], vec, 2)
    plane = sch.get_loops(sch.get_sblock(name(sch, anchor)))[0]
    for pad in reversed(pad_blocks(sch)):
        pad_at(sch, pad, plane, lanes)




def _unroll_taps(sch, reduce: list) -> list:
    """Kernel-tap loops (all reduce loops after the channel one) are unrolled: constant offsets."""
    for lp in reduce[1:]:
        sch.unroll(lp)
    return reduce




def _channel_conv(sch, anchor, wb, spatial, reduce, target) -> None:
    """Vectors of output channels (their weights prepacked side by side) x a tile of output rows and
    columns in registers, each input element a broadcast scalar; the whole reduction runs in there.
    Strides and narrow maps (7x7) cost nothing, unlike vectors along the output width."""
    lanes = target.vector_lanes_f32
    batch, o, *rows, w = spatial
    row = rows[-1] if rows else None
    depthwise = name(sch, anchor).startswith(DEPTHWISE_CHANNEL_BLOCK)
    grouped = depthwise or name(sch, anchor).startswith(GROUPED_CHANNEL_BLOCK)  # one block per tile
    ov, fr, fw = _channel_tile(1 if grouped else extent(sch, o) // CHANNEL_BLOCK,
                               extent(sch, row) if row is not None else 1, extent(sch, w),
                               WIDE_ACC_BUDGET if target.vector_bits >= 512 else ACC_BUDGET)
    oo, o_in = split(sch, o, ov * CHANNEL_BLOCK)
    o_mid, lane = split(sch, o_in, CHANNEL_BLOCK) if ov > 1 else (None, o_in)
    ro, ri = split(sch, row, fr) if row is not None else (None, None)
    wo, wi = split(sch, w, fw)
    outer = [batch, oo, *rows[:-1], *([ro] if ro is not None else []), wo]
    # Channels last in the accumulator tile, so each accumulator is one contiguous vector register.
    sch.transform_layout(anchor, ("write", 0), lambda b, c, *s: (b, *s, c))
    if depthwise:
        _block_pads(sch)
    else:
        schedule_pads(sch, lanes)
    blocked_out = _stores_blocked(sch, wb) and not depthwise
    lay_out(sch, anchor, wb, outer, _unroll_taps(sch, _split_blocked_channels(sch, anchor, reduce)),
            [ri, wi, o_mid], lane, parallel_depth(sch, outer, target.cores), vectorize_wb=not blocked_out)
    if blocked_out:
        _store_channel_vectors(sch, wb)
    if depthwise:  # each channel block's padded planes are made in its parallel iteration (in cache)
        band = sch.get_loops(anchor)[0]
        for pad in reversed(pad_blocks(sch)):
            pad_at(sch, pad, band, lanes)


def _stores_blocked(sch, wb) -> bool:
    """Whether the write-back ends in a channel-blocked output (ir/layouts.py), inlined or not yet."""
    blocks = sch.get_child_blocks(sch.get_sblock("root"))
    return len(sch.get(wb).writes[0].source.shape) == 5 or any(name(sch, b) == BLOCKED_STORE for b in blocks)


def _store_channel_vectors(sch, wb) -> None:
    """The write-back into a blocked output runs along channels, innermost: one vector store per
    position and channel block (along positions, each lane would land 8 floats apart)."""
    loops = sch.get_loops(wb)
    _, channel_value = bindings(sch, wb)[1]
    used = undefined_vars(channel_value, [])
    channel = next(lp for lp in reversed(loops) if any(sch.get(lp).loop_var.same_as(v) for v in used))
    own = loops[loops.index(channel):]
    sch.reorder(*own[1:], channel)
    _, lane = sch.split(channel, [None, CHANNEL_BLOCK])
    sch.vectorize(lane)


def _split_blocked_channels(sch, anchor, reduce: list) -> list:
    """A 1x1 conv over a blocked input: its channel loop split by the block (the block then unrolled
    with the taps), so that each broadcast reads a constant offset, not one computed from c // 8, c % 8."""
    reads_blocked = name(sch, anchor).startswith(BLOCKED_INPUT_CHANNEL_BLOCK)
    taps = all(extent(sch, lp) == 1 for lp in reduce[1:])
    if not (reads_blocked and taps) or (extent(sch, reduce[0]) or 1) % CHANNEL_BLOCK:
        return reduce
    rco, rci = sch.split(reduce[0], [None, CHANNEL_BLOCK])
    return [rco, rci, *reduce[1:]]  # lay_out's caller unrolls all but the first


def _block_pads(sch) -> None:
    """A depthwise tap reads 8 channels at one position: the padded input copy is stored channel-blocked,
    so that the read is one vector load and the copy from a blocked input a plain one."""
    b = CHANNEL_BLOCK
    for pad in pad_blocks(sch):
        blocked = lambda n, c, h, w: (n, c // b, h, w, c % b)
        sch.transform_layout(pad, ("write", 0), blocked)
        sch.transform_block_layout(pad, blocked)


# AVX-512 targets have 32 vector registers, not 16: more accumulators (measured on znver4: SqueezeNet's
# conv10 1.16 -> 1.00 ms, 3x3 128->128 at 28x28 1.21 -> 1.08; more than 16 spilled on the 56x56 3x3 convs)
WIDE_ACC_BUDGET = 16


def _channel_tile(blocks: int, rows: int, cols: int, budget: int) -> tuple[int, int, int]:
    """(channel blocks, rows, columns) of the register tile, one accumulator register per block and
    position: at least 8 accumulators where the map allows, then the most FMAs per load (one
    broadcast per position, one load per channel block)."""
    best, best_key = (1, 1, 1), None
    for ov in (d for d in (1, 2, 3, 4) if blocks % d == 0):
        for fr in (d for d in range(1, budget + 1) if rows % d == 0):
            for fw in (d for d in range(1, budget + 1) if cols % d == 0):
                acc = ov * fr * fw
                if acc > budget:
                    continue
                key = (min(acc, 8), acc / (fr * fw + ov), acc)
                if best_key is None or key > best_key:
                    best, best_key = (ov, fr, fw), key
    return best


CONV_STRATEGIES = {"general": _general_conv, "pointwise": _pointwise_conv, "depthwise": _depthwise_conv,
                   "channels": _channel_conv}
