"""Normalizations: BatchNormalization (inference), InstanceNormalization, LayerNormalization,
GroupNormalization, RMSNormalization, LRN. Variants the IR ops do not cover (extra statistics
outputs, other stash types) import the op's ONNX function body instead."""

from __future__ import annotations

from .node import NodeView
from .registry import converter


@converter("BatchNormalization", since=7)
def batch_norm(n: NodeView):
    if n.attr("training_mode", 0) or n.n_outputs > 1 and any(n.has_output(i) for i in range(1, n.n_outputs)):
        n.fail("training mode (running statistics outputs) is not supported")
    if n.attr("spatial", 1) != 1:
        n.fail("spatial=0 is not supported")
    return n.op("batch_norm", *n.inputs()[:5], epsilon=n.attr("epsilon", 1e-5))


@converter("InstanceNormalization")
def instance_norm(n: NodeView):
    return n.op("instance_norm", n.input(0), n.input(1), n.input(2), epsilon=n.attr("epsilon", 1e-5))


def _single_output(n: NodeView) -> None:
    if any(n.has_output(i) for i in range(1, n.n_outputs)):
        n.expand_instead("the statistics outputs are not supported")


@converter("LayerNormalization")
def layer_norm(n: NodeView):
    _single_output(n)
    x, scale, bias = n.input(0), n.input(1), n.input(2)
    operands = [x, scale] + ([bias] if bias is not None else [])
    return n.op("layer_norm", *operands, axis=n.attr("axis", -1), epsilon=n.attr("epsilon", 1e-5))


@converter("RMSNormalization")
def rms_norm(n: NodeView):
    _single_output(n)
    return n.op("rms_norm", n.input(0), n.input(1), axis=n.attr("axis", -1), epsilon=n.attr("epsilon", 1e-5))


@converter("GroupNormalization", since=18)
def group_norm(n: NodeView):
    """Opset 18 gives scale and bias per group: repeat them per channel when they are constants."""
    groups, x_type = n.attr("num_groups"), n.type(0)
    scale, bias = n.input(1), n.input(2)
    if n.opset < 21:
        channels = x_type.shape[1]
        if not isinstance(channels, int):
            n.expand_instead("per-group scale needs a static channel count")
        scale = n.op("reshape", n.op("expand", n.op("reshape", scale, shape=[groups, 1]),
                                     shape=[groups, channels // groups]), shape=[channels])
        bias = n.op("reshape", n.op("expand", n.op("reshape", bias, shape=[groups, 1]),
                                    shape=[groups, channels // groups]), shape=[channels])
    return n.op("group_norm", n.input(0), scale, bias, num_groups=groups, epsilon=n.attr("epsilon", 1e-5))


@converter("LRN")
def lrn(n: NodeView):
    return n.op("lrn", n.input(0), size=n.attr("size"), alpha=n.attr("alpha", 1e-4), beta=n.attr("beta", 0.75),
                bias=n.attr("bias", 1.0))
