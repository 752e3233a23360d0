"""TE computes for conv1d/2d/3d and conv_transpose1d/2d/3d on NC[D]HW tensors.

A convolution is a materialized `pad` block (the schedules keep it, so the hot loop has no bounds
checks) and one reduction block; a transposed convolution zero-stuffs its input by the stride in
that block and runs a stride-1 convolution with the flipped, transposed kernel (a weight view)."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.layouts import channel_block
from .layouts import BLOCKED_VIEW, CHANNEL_BLOCK, CHANNEL_BLOCKED, CHANNEL_VIEW, padded_groups
from .linalg import acc_dtype, finish, widen
from .registry import lowering

PAD_BLOCK = "pad"
PHASE_BLOCK = "phase"
DEPTHWISE_BLOCK = "depthwise"
# A convolution whose weight arrives blocked by output channels; the schedule vectorizes along them.
# A grouped one is named apart: a vector of channels must not straddle two groups.
CHANNEL_CONV_BLOCK = "conv_channels"
GROUPED_CHANNEL_BLOCK = "conv_channels_grouped"
# A depthwise convolution vectorized along channels (a channel-blocked input, ir/layouts.py).
DEPTHWISE_CHANNEL_BLOCK = "depthwise_channels"
# An ungrouped one reading a channel-blocked input.
BLOCKED_INPUT_CHANNEL_BLOCK = CHANNEL_CONV_BLOCK + "_blocked_input"
# Annotation on a grouped convolution's block: its output channels per group.
GROUP_ATTR = "outputs_per_group"


def pad_block(x: te.Tensor, before, after, value, stride=None, phase: int = 1) -> te.Tensor:
    """x padded (negative: cropped) on its spatial axes; with `stride`, input element j lands at j*s
    (zero-stuffing). With phase p > 1 a second block splits the last axis by residue,
    [N, C, p, *S[:-1], ceil(S[-1]/p)], so that a stride-p window walks it contiguously (window_read)."""
    n = len(before)
    stride = stride or [1] * n
    sizes = [int(d) for d in x.shape[2:]]
    xp = x
    if any(before) or any(after) or any(s > 1 for s in stride):
        shape = [(d - 1) * s + 1 + b + a for d, s, b, a in zip(sizes, stride, before, after)]
        xp = te.compute([*x.shape[:2], *shape], lambda nn, c, *i: _padded(x, nn, c, i, sizes, stride, before, value),
                        name=PAD_BLOCK)
    if phase == 1:
        return xp
    last = int(xp.shape[-1])
    split = [*xp.shape[:2], phase, *xp.shape[2:-1], -(-last // phase)]

    def at(nn, c, r, *i):  # a residue's last column may lie past the end; no window reads it
        col = i[-1] * phase + r
        return xp[(nn, c, *i[:-1], tirx.min(col, last - 1) if last % phase else col)]

    return te.compute(split, at, name=PHASE_BLOCK)


def _padded(x, nn, c, i, sizes, stride, before, value):
    conds, src = [], []
    for j, d, s, b in zip(i, sizes, stride, before):
        conds += [j >= b, j < b + (d - 1) * s + 1] + ([tirx.floormod(j - b, s) == 0] if s > 1 else [])
        src.append(tirx.floordiv(j - b, s) if s > 1 else j - b)
    return tirx.if_then_else(tirx.all(*conds), x[(nn, c, *src)], tirx.const(value, str(x.dtype)))


def window_read(xp: te.Tensor, n, c, outs, taps, strides, dilations, phase: int = 1):
    """xp at the tap of the window of output position outs (undoing pad_block's phase split)."""
    pos = [o * s + k * d for o, s, k, d in zip(outs, strides, taps, dilations)]
    if phase == 1:
        return xp[(n, c, *pos)]
    kd = taps[-1] * dilations[-1]  # the last stride equals the phase
    return xp[(n, c, tirx.floormod(kd, phase), *pos[:-1], outs[-1] + tirx.floordiv(kd, phase))]


def conv_core(xp: te.Tensor, w_at, w_shape, strides, dilations, group: int, out_shape, name: str,
              phase: int = 1, block: int = 1) -> te.Tensor:
    """out[n, o, *s] = sum over (c, *k) of xp[n, group(o) * C/g + c, s * stride + k * dil] * w_at(o, c, *k).
    With output channels in blocks of `block` (whole blocks per group), group(o) is spelled through
    the block index, so that TVM sees it constant along a vector of the block's channels."""
    out_c, cg, *ks = w_shape
    og = out_c // group
    acc = acc_dtype(str(xp.dtype))
    rc = te.reduce_axis((0, cg), "rc")
    rk = [te.reduce_axis((0, k), f"rk{i}") for i, k in enumerate(ks)]

    def f(n, o, *s):
        c = rc if group == 1 else (o if og == 1 else o // block // (og // block)) * cg + rc
        v = window_read(xp, n, c, s, rk, strides, dilations, phase)
        return te.sum(widen(v, acc) * widen(w_at(o, rc, *rk), acc), axis=[rc, *rk])

    # The schedules read the group size here: a register tile of output channels stays in one group.
    return te.compute(out_shape, f, name=name, attrs={GROUP_ATTR: og} if group > 1 else None)


def add_bias(y: te.Tensor, ins, dt: str) -> te.Tensor:
    """The optional bias [O] added per output channel, then the cast back to the input dtype."""
    if len(ins) > 2:
        bias = ins[2]
        y = te.compute(y.shape, lambda n, o, *s: y[(n, o, *s)] + widen(bias[o], str(y.dtype)), name="bias_add")
    return finish(y, dt)


def _conv(ins, attrs, out_types):
    x, w = ins[:2]
    n = len(x.shape) - 2
    pads, strides = list(attrs["pads"]), attrs["strides"]
    w_shape = [int(d) for d in w.shape]
    group = attrs["group"]
    name = DEPTHWISE_BLOCK if group > 1 and w_shape[1] == 1 else "conv"  # schedules tile these apart
    out_shape = list(out_types[0].shape)
    if getattr(w.op, "name", None) != CHANNEL_VIEW:
        xp = pad_block(x, pads[:n], pads[n:], 0, phase=strides[-1])
        y = conv_core(xp, lambda *i: w[i], w_shape, strides, attrs["dilations"], group, out_shape, name,
                      strides[-1])
        return add_bias(y, ins, str(x.dtype))
    # Vectorized along channels, the input is read as broadcast scalars: no phase split for strides.
    # A width with no register-tile divisor (13) is computed wider over more zero padding, then cut.
    width = out_shape[-1]
    wide = tile_friendly_width(width)
    pads[-1] += (wide - width) * strides[-1]
    xp = pad_block(x, pads[:n], pads[n:], 0)
    # A grouped weight may arrive with each group padded to whole blocks: those channels go too.
    og, ogw = out_shape[1] // group, w_shape[0] // group
    kind = CHANNEL_CONV_BLOCK if group == 1 else DEPTHWISE_CHANNEL_BLOCK if og == 1 else GROUPED_CHANNEL_BLOCK
    if group == 1 and getattr(x.op, "name", None) == BLOCKED_VIEW:
        kind = BLOCKED_INPUT_CHANNEL_BLOCK
    y = conv_core(xp, lambda *i: w[i], w_shape, strides, attrs["dilations"], group,
                  [out_shape[0], w_shape[0], *out_shape[2:-1], wide], kind, block=CHANNEL_BLOCK)
    if og == ogw:
        y = add_bias(y, ins, str(x.dtype))
        return y if wide == width else te.compute(out_shape, lambda *i: y(*i), name="conv_cut")
    cut = te.compute(out_shape, lambda nn, o, *i: y[(nn, o // og * ogw + o % og, *i)], name="conv_cut")
    return add_bias(cut, ins, str(x.dtype))


def tile_friendly_width(width: int) -> int:
    """The least width >= `width` that a register tile of 3 to 12 columns divides (13 -> 14). Three
    counts: SqueezeNet's 111-wide stem computed 112 wide needed a cut pass over its output (0.40 ms),
    tiles of 3 columns need none (0.22 ms)."""
    fits = lambda v: v < 4 or any(v % d == 0 for d in range(3, 13))
    return next(v for v in range(width, width + 12) if fits(v))


# A stride-1 depthwise conv on NCHW maps wider than this vectorizes along the width instead.
DEPTHWISE_WIDE = 56


def depthwise_along_channels(x, attrs, input_computed: bool) -> bool:
    """A depthwise conv reading an NCHW kernel argument vectorizes along channel blocks too (its
    padded copy made blocked, per block) where vectors along the width would be short or strided
    (measured). Inside a block kernel its input is computed per row band, so it stays NCHW."""
    if input_computed or x.shape[1] % CHANNEL_BLOCK:
        return False
    return x.shape[-1] <= DEPTHWISE_WIDE or set(attrs["strides"]) != {1}


def _channel_blocks(types, attrs, results=None, computed=frozenset()):
    """Block a float32 conv2d weight by output channels (grouped too, each group padded to whole
    blocks; not depthwise) unless the conv is a 1x1, stride-1 GEMM (one per group) whose positions
    fill whole vectors: vectorizing along positions is as good there, needs no pack, and no cut of
    padded channels (ShuffleNet's 68 -> 272, 4 groups, 28x28: 0.57 -> 0.10 ms)."""
    x, w = types[:2]
    group = attrs["group"]
    og = w.shape[0] // group
    depthwise = group > 1 and w.shape[1] == 1
    # Padding a group to whole blocks pays while it adds at most a quarter more work (68 -> 72 does).
    padded = group > 1 and og % CHANNEL_BLOCK and 4 * (-og % CHANNEL_BLOCK) <= og
    if w.rank != 4 or str(w.dtype) != "f32" or not x.is_static:
        return {}
    # A channel-blocked input (ir/layouts.py) holds 8 channels per vector: read along channels.
    blocked_input = channel_block(x.layout) == CHANNEL_BLOCK
    blocked_output = bool(results) and channel_block(results[0].layout) == CHANNEL_BLOCK
    if depthwise:
        along_channels = blocked_input or depthwise_along_channels(x, attrs, 0 in computed)
        return {1: CHANNEL_BLOCKED} if along_channels else {}
    if og % CHANNEL_BLOCK and not padded:
        return {}
    pointwise = tuple(w.shape[2:]) == (1, 1) and set(attrs["strides"]) == {1} and not any(attrs["pads"])
    if pointwise and (x.shape[2] * x.shape[3]) % CHANNEL_BLOCK == 0 and not (blocked_input or blocked_output):
        return {}
    return {1: padded_groups(group, og) if padded else CHANNEL_BLOCKED}


def _conv_transpose(ins, attrs, out_types):
    x, w = ins[:2]
    n, group = len(x.shape) - 2, attrs["group"]
    strides, dilations, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
    ks = [int(d) for d in w.shape[2:]]
    reach = [d * (k - 1) for d, k in zip(dilations, ks)]
    before = [r - p for r, p in zip(reach, pads[:n])]
    after = [r - p + op for r, p, op in zip(reach, pads[n:], attrs["output_padding"])]
    xp = pad_block(x, before, after, 0, strides)
    ci, og = int(w.shape[0]), int(w.shape[1])
    cg = ci // group

    def w_at(o, c, *k):  # the stride-1 conv weight [g * og + o, c, *k] = w[g * cg + c, o, *(K - 1 - k)]
        src = o // og * cg + c if group > 1 else c
        return w[(src, o % og if group > 1 else o, *[kk - 1 - ki for kk, ki in zip(ks, k)])]

    y = conv_core(xp, w_at, [og * group, cg, *ks], [1] * n, dilations, group, list(out_types[0].shape), "conv")
    return add_bias(y, ins, str(x.dtype))


lowering("conv2d", rule="conv2d", prepack=_channel_blocks)(_conv)
lowering("conv1d", "conv3d", rule="conv")(_conv)
lowering("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", rule="conv")(_conv_transpose)
