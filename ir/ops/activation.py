"""Activation functions: float-only elementwise nonlinearities (ReLU family, GELU, sigmoid-like,
ELU family) and the broadcasting PReLU."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .elementwise import unary
from .numerics import upcast
from .registry import BROADCAST, Attr, OpDef, register
from .shape_utils import broadcast_shapes, fail, need_float, out_type, same_dtype


def in_f32(fn: Callable) -> Callable:
    """Wrap fn(x, **attrs) to compute in >= float32 and return x's dtype."""

    def run(x, **attrs):
        x = np.asarray(x)
        return np.asarray(fn(upcast(x), **attrs)).astype(x.dtype)

    run.__name__ = getattr(fn, "__name__", "activation")
    return run


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic: exp only ever sees non-positive arguments."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow for large x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_erf_f64 = np.vectorize(math.erf, otypes=[np.float64])  # NumPy has no erf; avoid a scipy dependency


def erf(x: np.ndarray) -> np.ndarray:
    return _erf_f64(x.astype(np.float64)).astype(x.dtype)


def gelu(x: np.ndarray, *, approximate: str) -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def elu(x: np.ndarray, *, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def celu(x: np.ndarray, *, alpha: float) -> np.ndarray:
    return np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(np.minimum(x, 0) / alpha))


# ONNX Selu defaults (the values that make the activation self-normalizing).
SELU_ALPHA, SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875


def selu(x: np.ndarray) -> np.ndarray:
    return SELU_GAMMA * elu(x, alpha=SELU_ALPHA)


def hardsigmoid(x: np.ndarray, *, alpha: float, beta: float) -> np.ndarray:
    return np.clip(alpha * x + beta, 0, 1)


_ACTIVATIONS: dict[str, tuple[Callable, dict, str]] = {
    "relu": (lambda x: np.maximum(x, 0), {}, "max(x, 0)."),
    "relu6": (lambda x: np.clip(x, 0, 6), {}, "min(max(x, 0), 6)."),
    "leaky_relu": (lambda x, *, alpha: np.where(x >= 0, x, alpha * x), {"alpha": Attr("float", 0.01)},
                   "x if x >= 0 else alpha * x."),
    "gelu": (gelu, {"approximate": Attr("str", "none", ("none", "tanh"))},
             "Gaussian error linear unit, exact (erf) or tanh-approximated."),
    "silu": (lambda x: x * sigmoid(x), {}, "x * sigmoid(x) (swish)."),
    "hardswish": (lambda x: x * hardsigmoid(x, alpha=1 / 6, beta=0.5), {}, "x * relu6(x + 3) / 6."),
    "hardsigmoid": (hardsigmoid, {"alpha": Attr("float", 0.2), "beta": Attr("float", 0.5)},
                    "clip(alpha * x + beta, 0, 1) (ONNX HardSigmoid)."),
    "sigmoid": (sigmoid, {}, "1 / (1 + exp(-x))."),
    "tanh": (np.tanh, {}, "Hyperbolic tangent."),
    "softplus": (softplus, {}, "log(1 + exp(x))."),
    "mish": (lambda x: x * np.tanh(softplus(x)), {}, "x * tanh(softplus(x))."),
    "erf": (erf, {}, "Gauss error function."),
    "elu": (elu, {"alpha": Attr("float", 1.0)}, "x if x > 0 else alpha * (exp(x) - 1)."),
    "selu": (selu, {}, "Scaled ELU with the ONNX alpha and gamma."),
    "softsign": (lambda x: x / (1 + np.abs(x)), {}, "x / (1 + |x|)."),
    "celu": (celu, {"alpha": Attr("float", 1.0)}, "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."),
    "hardtanh": (lambda x, *, min_val, max_val: np.clip(x, min_val, max_val),
                 {"min_val": Attr("float", -1.0), "max_val": Attr("float", 1.0)}, "clip(x, min_val, max_val)."),
}

for _name, (_fn, _attrs, _doc) in _ACTIVATIONS.items():
    unary(_name, in_f32(_fn), floats_only=True, attrs=_attrs, doc=_doc)


def _prelu_infer(x, slope):
    need_float(x)
    same_dtype(x, slope)
    # ONNX PRelu broadcasts slope to x only (unidirectionally): the result keeps x's rank and sizes.
    if slope.rank > x.rank:
        fail(f"slope {slope} has higher rank than x {x}")
    for xd, sd in zip(x.shape[x.rank - slope.rank:], slope.shape):
        if isinstance(sd, int) and sd != 1 and isinstance(xd, int) and xd != sd:
            fail(f"slope {slope} does not broadcast to x {x}")
    return out_type(x, broadcast_shapes(x.shape, slope.shape))


def _prelu(x, slope):
    return np.where(x >= 0, x, x * slope).astype(x.dtype)


register(OpDef("prelu", ("x", "slope"), {}, BROADCAST, _prelu_infer, _prelu,
               doc="x if x >= 0 else slope * x; slope broadcasts to x (ONNX PRelu)."))
