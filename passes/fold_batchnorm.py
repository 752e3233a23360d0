"""fold-batchnorm: an inference batch_norm after a convolution becomes the convolution's weights and bias."""

from __future__ import annotations

import numpy as np

from ..ir.graph import Function, Module, Node, Param
from .manager import register_pass

CONVS = ("conv1d", "conv2d", "conv3d")


@register_pass("fold-batchnorm")
def fold_batchnorm(module: Module) -> Module:
    """conv(x, w, b) -> batch_norm(scale, bias, mean, var) becomes conv(x, w * s, (b - mean) * s + bias)."""
    for func in module.functions.values():
        _fold_function(func, module)
    return module


def _constant(v) -> bool:
    return isinstance(v, Param) and v.data is not None and v.type.encoding is None


def _foldable(bn: Node, conv: Node | None, users: dict) -> bool:
    """Only when every number is known and the conv's output feeds nothing but this batch_norm."""
    if conv is None or conv.op not in CONVS or len(users.get(id(conv.results[0]), [])) != 1:
        return False
    if not all(_constant(v) for v in bn.operands[1:]) or not all(_constant(v) for v in conv.operands[1:]):
        return False
    return conv.results[0].type.dtype == bn.results[0].type.dtype and conv.results[0].type.dtype.is_float


def _fold_function(func: Function, module: Module) -> None:
    users = func.users()
    producer = {id(r): n for n in func.nodes for r in n.results}
    dropped: set[int] = set()
    for bn in func.nodes:
        if bn.op != "batch_norm":
            continue
        conv = producer.get(id(bn.operands[0]))
        if not _foldable(bn, conv, users):
            continue
        conv.operands[1:] = _folded_params(conv, bn, module)
        result = conv.results[0]
        if bn.results[0].name and not result.name:
            result.name = bn.results[0].name  # a returned value keeps its output name
        func.replace_uses(bn.results[0], result)
        dropped.add(id(bn))
    func.nodes = [n for n in func.nodes if id(n) not in dropped]


def _folded_params(conv: Node, bn: Node, module: Module) -> list[Param]:
    scale, shift, mean, var = (np.asarray(v.data, np.float64) for v in bn.operands[1:])
    w = conv.operands[1]
    s = scale / np.sqrt(var + bn.attrs["epsilon"])
    bias = np.asarray(conv.operands[2].data, np.float64) if len(conv.operands) > 2 else np.zeros_like(s)
    dt = w.type.dtype.numpy
    new_w = (np.asarray(w.data, np.float64) * s.reshape(-1, *[1] * (w.data.ndim - 1))).astype(dt)
    new_b = ((bias - mean) * s + shift).astype(dt)
    return [module.add_param(f"{w.name}_bn", new_w), module.add_param(f"{w.name}_bn_bias", new_b)]
