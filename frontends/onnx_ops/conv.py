"""Convolutions and pooling: Conv, ConvTranspose, ConvInteger, MaxPool, AveragePool, LpPool,
GlobalAveragePool, GlobalMaxPool; auto_pad is resolved to explicit pads here."""

from __future__ import annotations

import numpy as np

from ...ir.ops import get_op
from ...ir.types import TensorType
from .node import NodeView
from .registry import converter


def same_pads(n: NodeView, spatial, kernel, strides, dilations) -> list[int]:
    """Explicit pads (ONNX order) for auto_pad SAME_UPPER / SAME_LOWER / VALID."""
    mode = n.attr("auto_pad", "NOTSET")
    if mode == "VALID":
        return [0] * (2 * len(kernel))
    begins, ends = [], []
    for i, (size, k, s, d) in enumerate(zip(spatial, kernel, strides, dilations)):
        if not isinstance(size, int):
            n.fail(f"auto_pad={mode} needs a static spatial dim {i}, got {size}")
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins + ends


def window_attrs(n: NodeView, kernel: list[int]) -> dict:
    """strides, pads and dilations with ONNX defaults and auto_pad resolved."""
    k = len(kernel)
    strides = list(n.attr("strides", [1] * k))
    dilations = list(n.attr("dilations", [1] * k))
    if n.attr("auto_pad", "NOTSET") != "NOTSET":
        pads = same_pads(n, n.shape(0)[2:], kernel, strides, dilations)
    else:
        pads = list(n.attr("pads", [0] * (2 * k)))
    return {"strides": strides, "pads": pads, "dilations": dilations}


def kernel_of(n: NodeView, weight: int = 1) -> list[int]:
    return list(n.attr("kernel_shape", n.static_shape(weight)[2:]))


def _conv_op(n: NodeView, base: str) -> str:
    k = n.rank(0) - 2
    if k not in (1, 2, 3):
        n.fail(f"{k}-D convolution is not supported (1-D to 3-D are)")
    return f"{base}{k}d"


@converter("Conv")
def conv(n: NodeView):
    attrs = window_attrs(n, kernel_of(n))
    operands = [x for x in n.inputs() if x is not None]
    return n.op(_conv_op(n, "conv"), *operands, group=n.attr("group", 1), **attrs)


@converter("ConvInteger")
def conv_integer(n: NodeView):
    """Exact in float64: int8/uint8 products summed stay far below 2**53."""
    x = _shifted(n, 0, 2)
    w = _shifted(n, 1, 3)
    attrs = window_attrs(n, kernel_of(n))
    y = n.op(_conv_op(n, "conv"), x, w, group=n.attr("group", 1), **attrs)
    return n.op("cast", y, dtype="i32")


def _shifted(n: NodeView, i: int, zero_i: int):
    """Input i minus its zero point (per tensor, or per output channel for the weights)."""
    x = n.op("cast", n.input(i), dtype="f64")
    if n.has(zero_i):
        zero = n.op("cast", n.input(zero_i), dtype="f64")
        if n.type(zero_i).numel > 1:
            zero = n.op("reshape", zero, shape=[-1] + [1] * (n.rank(i) - 1))
        x = n.op("sub", x, zero)
    return x


@converter("ConvTranspose")
def conv_transpose(n: NodeView):
    """ConvTranspose; output_shape and SAME auto_pad become explicit pads and output_padding."""
    kernel = kernel_of(n)
    k = len(kernel)
    strides = list(n.attr("strides", [1] * k))
    dilations = list(n.attr("dilations", [1] * k))
    out_pad = list(n.attr("output_padding", [0] * k))
    pads = list(n.attr("pads", [0] * (2 * k)))
    output_shape = n.attr("output_shape")
    if output_shape is not None or n.attr("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        spatial = n.static_shape(0)[2:]
        target = list(output_shape)[-k:] if output_shape is not None else [d * s for d, s in zip(spatial, strides)]
        totals = [s * (d - 1) + op + (kk - 1) * dl + 1 - t
                  for d, s, op, kk, dl, t in zip(spatial, strides, out_pad, kernel, dilations, target)]
        out_pad = [op - min(t, 0) for op, t in zip(out_pad, totals)]  # a larger target grows at the end
        totals = [max(t, 0) for t in totals]
        upper = n.attr("auto_pad", "NOTSET") != "SAME_LOWER"
        pads = [t // 2 if upper else t - t // 2 for t in totals] + [t - t // 2 if upper else t // 2 for t in totals]
    operands = [x for x in n.inputs() if x is not None]
    return n.op(_conv_op(n, "conv_transpose"), *operands, strides=strides, pads=pads, dilations=dilations,
                group=n.attr("group", 1), output_padding=out_pad)


def pool_attrs(n: NodeView) -> dict:
    kernel = list(n.attr("kernel_shape"))
    attrs = window_attrs(n, kernel)
    return {"kernel_shape": kernel, "ceil_mode": bool(n.attr("ceil_mode", 0)), **attrs}


@converter("MaxPool")
def max_pool(n: NodeView):
    if n.attr("storage_order", 0) and n.has_output(1):
        n.fail("storage_order=1 is not supported")
    out = n.op("max_pool", n.input(0), **pool_attrs(n))
    return (out,)  # the Indices output stays unsupported


@converter("AveragePool")
def avg_pool(n: NodeView):
    attrs = pool_attrs(n)
    if any(d != 1 for d in attrs["dilations"]):
        return dilated_avg_pool(n, n.input(0), attrs, bool(n.attr("count_include_pad", 0)))
    del attrs["dilations"]
    return n.op("avg_pool", n.input(0), count_include_pad=bool(n.attr("count_include_pad", 0)), **attrs)


def window_sums(n: NodeView, x, attrs: dict, channels: int):
    """Sums over (dilated) pooling windows as a depthwise convolution with a kernel of ones;
    also returns the pads it used (ceil_mode becomes extra padding at the end)."""
    k = len(attrs["kernel_shape"])
    shape = [1, channels, *n.static_shape(0)[2:]]
    out = get_op("max_pool").infer_types([TensorType(tuple(shape), n.type(0).dtype)], attrs)[0].shape[2:]
    pads = list(attrs["pads"])
    for i, (size, o) in enumerate(zip(shape[2:], out)):
        reach = (o - 1) * attrs["strides"][i] + (attrs["kernel_shape"][i] - 1) * attrs["dilations"][i] + 1
        pads[k + i] += max(0, reach - (size + pads[i] + pads[k + i]))
    ones = np.ones([channels, 1, *attrs["kernel_shape"]], n.type(0).dtype.numpy)
    y = n.op(f"conv{k}d", x, ones, strides=attrs["strides"], pads=pads, dilations=attrs["dilations"], group=channels)
    return y, pads


def dilated_avg_pool(n: NodeView, x, attrs: dict, count_pad: bool):
    """Window sums divided by window counts; the counts depend on shapes only, so they fold."""
    channels, k = n.static_shape(0)[1], len(attrs["kernel_shape"])
    sums, pads = window_sums(n, x, attrs, channels)
    spatial = n.static_shape(0)[2:]
    if count_pad:  # positions inside the explicit pads count, the ceil_mode overhang does not
        spatial = [d + attrs["pads"][i] + attrs["pads"][k + i] for i, d in enumerate(spatial)]
        pads = [0] * k + [p - attrs["pads"][k + i] for i, p in enumerate(pads[k:])]
    ones = np.ones([1, 1, *spatial], n.type(0).dtype.numpy)
    kernel = np.ones([1, 1, *attrs["kernel_shape"]], ones.dtype)
    counts = n.op(f"conv{k}d", ones, kernel, strides=attrs["strides"], pads=pads, dilations=attrs["dilations"])
    return n.op("div", sums, counts)


@converter("LpPool")
def lp_pool(n: NodeView):
    """(sum over the window of |x|^p)^(1/p)."""
    p = float(n.attr("p", 2))
    attrs = pool_attrs(n)
    dt = n.type(0).dtype.numpy
    powered = n.op("pow", n.op("abs", n.input(0)), np.array(p, dt))
    total, _ = window_sums(n, powered, attrs, n.static_shape(0)[1])
    return n.op("pow", total, np.array(1.0 / p, dt))


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(n: NodeView):
    return n.op("global_avg_pool" if n.op_type == "GlobalAveragePool" else "global_max_pool", n.input(0))


@converter("MaxUnpool")
def max_unpool(n: NodeView):
    kernel = list(n.attr("kernel_shape"))
    k = len(kernel)
    shape = n.ints(2)
    return n.op("max_unpool", n.input(0), n.input(1), kernel_shape=kernel, strides=n.attr("strides", [1] * k),
                pads=n.attr("pads", [0] * (2 * k)), output_shape=shape)
