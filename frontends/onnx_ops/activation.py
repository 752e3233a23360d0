"""Activation ONNX ops; those whose attributes the IR op lacks are composed from simpler ops."""

from __future__ import annotations

import numpy as np

from ...ir.ops.activation import SELU_ALPHA, SELU_GAMMA
from .node import NodeView
from .registry import converter

PLAIN = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus",
         "Softsign": "softsign", "Mish": "mish", "HardSwish": "hardswish"}


def scalar(n: NodeView, v: float, i: int = 0) -> np.ndarray:
    """A scalar constant with the dtype of input i."""
    return np.array(v, n.type(i).dtype.numpy)


@converter(*PLAIN)
def plain(n: NodeView):
    return n.op(PLAIN[n.op_type], n.input(0))


@converter("LeakyRelu")
def leaky_relu(n: NodeView):
    return n.op("leaky_relu", n.input(0), alpha=n.attr("alpha", 0.01))


@converter("Elu")
def elu(n: NodeView):
    return n.op("elu", n.input(0), alpha=n.attr("alpha", 1.0))


@converter("Celu")
def celu(n: NodeView):
    return n.op("celu", n.input(0), alpha=n.attr("alpha", 1.0))


@converter("Selu")
def selu(n: NodeView):
    alpha, gamma = n.attr("alpha", SELU_ALPHA), n.attr("gamma", SELU_GAMMA)
    if np.float32(alpha) == np.float32(SELU_ALPHA) and np.float32(gamma) == np.float32(SELU_GAMMA):
        return n.op("selu", n.input(0))
    return n.op("mul", n.op("elu", n.input(0), alpha=alpha), scalar(n, gamma))


@converter("HardSigmoid")
def hard_sigmoid(n: NodeView):
    return n.op("hardsigmoid", n.input(0), alpha=n.attr("alpha", 0.2), beta=n.attr("beta", 0.5))


@converter("Gelu")
def gelu(n: NodeView):
    return n.op("gelu", n.input(0), approximate=n.attr("approximate", "none"))


@converter("PRelu")
def prelu(n: NodeView):
    return n.op("prelu", n.input(0), n.input(1))


@converter("ThresholdedRelu")
def thresholded_relu(n: NodeView):
    x = n.input(0)
    keep = n.op("greater", x, scalar(n, n.attr("alpha", 1.0)))
    return n.op("where", keep, x, scalar(n, 0.0))


@converter("Swish")
def swish(n: NodeView):
    alpha = n.attr("alpha", 1.0)
    if alpha == 1.0:
        return n.op("silu", n.input(0))
    return n.op("mul", n.input(0), n.op("sigmoid", n.op("mul", n.input(0), scalar(n, alpha))))


@converter("Shrink")
def shrink(n: NodeView):
    """y = x - bias if x > lambd, x + bias if x < -lambd, else 0."""
    x, lambd, bias = n.input(0), n.attr("lambd", 0.5), n.attr("bias", 0.0)
    zero = scalar(n, 0)
    upper = n.op("where", n.op("greater", x, scalar(n, lambd)), n.op("sub", x, scalar(n, bias)), zero)
    return n.op("where", n.op("less", x, scalar(n, -lambd)), n.op("add", x, scalar(n, bias)), upper)
