"""Data-movement ops: Transpose, Concat, Split, Slice, Pad, DepthToSpace, SpaceToDepth,
Resize and Upsample."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter


@converter("Transpose")
def transpose(n: NodeView):
    return n.op("transpose", n.input(0), perm=n.attr("perm"))


@converter("Concat")
def concat(n: NodeView):
    xs = [x for x in n.inputs() if x is not None]
    return n.op("concat", *xs, axis=n.attr("axis", 1 if n.opset < 4 else None))


def split_sizes(n: NodeView, dim, count: int) -> list[int]:
    """Equal parts (opset >= 18: ceil-sized, the last one smaller) when no sizes are given."""
    if not isinstance(dim, int):
        n.fail(f"splitting a symbolic dim {dim} needs explicit sizes")
    if n.opset >= 18:
        part = -(-dim // count)
        return [min(part, dim - i * part) for i in range(count)]
    if dim % count:
        n.fail(f"dim {dim} does not split into {count} equal parts")
    return [dim // count] * count


@converter("Split")
def split(n: NodeView):
    axis = n.attr("axis", 0)
    sizes = n.ints(1) if n.opset >= 13 else n.attr("split")
    if not sizes:
        count = n.attr("num_outputs", n.n_outputs)
        sizes = split_sizes(n, n.shape(0)[axis], count)
    out = n.op("split", n.input(0), axis=axis, sizes=sizes)
    return out if isinstance(out, tuple) else (out,)


@converter("Slice")
def slice_(n: NodeView):
    if n.opset >= 10:
        starts, ends, axes, steps = n.ints(1), n.ints(2), n.ints(3), n.ints(4)
    else:
        starts, ends, axes, steps = n.attr("starts"), n.attr("ends"), n.attr("axes"), None
    return n.op("slice", n.input(0), starts=starts, ends=ends, axes=axes, steps=steps)


def full_pads(n: NodeView, pads: list[int], axes: list[int] | None) -> list[int]:
    """Pads for every axis, from pads given only for `axes` (ONNX order: all begins, then ends)."""
    rank = n.rank(0)
    if axes is None:
        return pads
    out = [0] * (2 * rank)
    for i, a in enumerate(axes):
        a %= rank
        out[a], out[a + rank] = pads[i], pads[i + len(axes)]
    return out


@converter("Pad")
def pad(n: NodeView):
    """Pads as an attribute (before opset 11) or as inputs, optionally for some axes only."""
    mode = n.attr("mode", "constant")
    if n.opset >= 11:
        pads = full_pads(n, n.ints(1), n.ints(3))
        value = n.const(2)
        value = 0.0 if value is None or value.size == 0 else value.reshape(-1)[0].item()
    else:
        pads, value = n.attr("pads", n.attr("paddings")), n.attr("value", 0.0)
    return n.op("pad", n.input(0), pads=pads, mode=mode, value=value)


@converter("DepthToSpace")
def depth_to_space(n: NodeView):
    return n.op("depth_to_space", n.input(0), blocksize=n.attr("blocksize"), mode=n.attr("mode", "DCR"))


@converter("SpaceToDepth")
def space_to_depth(n: NodeView):
    b = n.attr("blocksize")
    if n.attr("mode", "DCR") == "DCR":
        return n.op("space_to_depth", n.input(0), blocksize=b)
    # CRD: the channel varies slowest, then the block row and column.
    c, h, w = n.static_shape(0)[1:]
    x = n.op("reshape", n.input(0), shape=[0, c, h // b, b, w // b, b])
    x = n.op("transpose", x, perm=[0, 1, 3, 5, 2, 4])
    return n.op("reshape", x, shape=[0, c * b * b, h // b, w // b])


UNSUPPORTED_RESIZE = {"exclude_outside": 0, "antialias": 0}


@converter("Resize", since=11)
def resize(n: NodeView):
    """Resize to sizes or by scales; roi-based and antialiased variants are not supported."""
    for name, default in UNSUPPORTED_RESIZE.items():
        if n.attr(name, default) != default:
            n.fail(f"{name}={n.attr(name)} is not supported")
    coord = n.attr("coordinate_transformation_mode", "half_pixel")
    if coord in ("tf_crop_and_resize", "half_pixel_symmetric"):
        n.fail(f"coordinate_transformation_mode={coord} is not supported")
    scales, sizes = _resize_targets(n, n.const(2), n.const(3))
    return n.op("resize", n.input(0), sizes=sizes, scales=scales, mode=n.attr("mode", "nearest"),
                coordinate_transformation_mode=coord, nearest_mode=n.attr("nearest_mode", "round_prefer_floor"),
                cubic_coeff_a=n.attr("cubic_coeff_a", -0.75))


def _resize_targets(n: NodeView, scales, sizes):
    """Full-rank scales or sizes, honouring `axes` and keep_aspect_ratio_policy (opset 18)."""
    rank, axes = n.rank(0), n.attr("axes")
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    if sizes is not None and sizes.size:
        sizes = [int(s) for s in sizes]
        policy = n.attr("keep_aspect_ratio_policy", "stretch")
        shape = n.static_shape(0) if policy != "stretch" else None
        if policy != "stretch":
            pick = min if policy == "not_larger" else max
            ratio = pick(s / shape[a] for s, a in zip(sizes, axes))
            sizes = [int(np.floor(ratio * shape[a] + 0.5)) for a in axes]
        full = list(n.shape(0))
        for s, a in zip(sizes, axes):
            full[a] = s
        return None, full
    full_scales = [1.0] * rank
    for s, a in zip([float(v) for v in scales], axes):
        full_scales[a] = s
    return full_scales, None


@converter("Resize", since=10, until=10)
def resize_10(n: NodeView):
    return _upsample(n, [float(s) for s in n.const(1)])


@converter("Upsample", since=7, until=9)
def upsample(n: NodeView):
    scales = n.attr("scales") if n.opset < 9 else [float(s) for s in n.const(1)]
    return _upsample(n, scales)


def _upsample(n: NodeView, scales: list[float]):
    """Upsample semantics: asymmetric coordinates, nearest rounds down."""
    mode = {"bilinear": "linear", "trilinear": "linear"}.get(n.attr("mode", "nearest"), n.attr("mode", "nearest"))
    return n.op("resize", n.input(0), scales=scales, mode=mode, coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")


GRID_MODES = {"bilinear": "linear", "bicubic": "cubic"}  # the opset 16 names


@converter("GridSample", since=16)
def grid_sample(n: NodeView):
    mode = n.attr("mode", "linear" if n.opset >= 20 else "bilinear")
    return n.op("grid_sample", n.input(0), n.input(1), mode=GRID_MODES.get(mode, mode),
                padding_mode=n.attr("padding_mode", "zeros"), align_corners=bool(n.attr("align_corners", 0)))


@converter("Col2Im", since=18)
def col2im(n: NodeView):
    image, block = n.ints(1), n.ints(2)
    k = len(image)
    return n.op("col2im", n.input(0), image_shape=image, block_shape=block,
                dilations=n.attr("dilations", [1] * k), pads=n.attr("pads", [0] * (2 * k)),
                strides=n.attr("strides", [1] * k))
