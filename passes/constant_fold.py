"""Constant folding: evaluate nodes whose operands are all constant params and store the result as a param."""

from __future__ import annotations

import numpy as np

from ..errors import InterpreterError, KernforgeError
from ..ir.graph import Function, Module, Node, Param
from ..ir.interpreter import describe
from ..ir.ops import get_op
from .manager import register_pass

FOLD_LIMIT = 1 << 20  # elements; a larger folded result would bloat the module more than it saves


@register_pass("constant-fold")
def constant_fold(module: Module, limit: int = FOLD_LIMIT) -> Module:
    """Evaluate nodes whose operands are all params with data; each result becomes a new param."""
    for func in module.functions.values():
        fold_function(func, module, limit)
    return module


def fold_function(func: Function, module: Module, limit: int) -> None:
    """Fold in order, so a chain of constant nodes folds in one sweep. Regions are left alone:
    they may not reference params."""
    replaced: dict[int, Param] = {}
    kept = []
    for node in func.nodes:
        node.operands = [replaced.get(id(v), v) for v in node.operands]
        if not foldable(node, limit):
            kept.append(node)
            continue
        for result, data in zip(node.results, evaluate(node, func)):
            # A named result keeps its name, so a returned value keeps its output name.
            replaced[id(result)] = module.add_param(result.name or f"{node.op}_folded", data, result.type)
    func.nodes = kept
    func.outputs = [replaced.get(id(v), v) for v in func.outputs]


def foldable(node: Node, limit: int) -> bool:
    """All operands constant with data, static result types within the limit, and no encodings."""
    if not all(isinstance(v, Param) and v.data is not None for v in node.operands):
        return False
    # Folding through an encoding would decompress quantized or sparse weights, undoing the point.
    types = [v.type for v in node.operands] + [r.type for r in node.results]
    if any(t.encoding is not None for t in types):
        return False
    return all(r.type.is_static and r.type.numel <= limit for r in node.results)


def evaluate(node: Node, func: Function) -> list[np.ndarray]:
    """The op's NumPy reference on the params' data, cast to each result's declared dtype."""
    try:
        outs = get_op(node.op).evaluate([np.asarray(v.data) for v in node.operands], node.attrs, node.region)
    except KernforgeError:
        raise
    except Exception as e:  # a reference crashing on legal constants is a bug; name the node
        raise InterpreterError(f"constant-fold: {describe(node, func)} failed: {type(e).__name__}: {e}") from e
    if len(outs) != len(node.results):
        raise InterpreterError(f"constant-fold: {describe(node, func)} produced {len(outs)} results, "
                               f"expected {len(node.results)}")
    arrays = []
    for r, x in zip(node.results, outs):
        x = np.asarray(x).astype(r.type.dtype.numpy, copy=False)
        if tuple(x.shape) != r.type.shape:
            raise InterpreterError(f"constant-fold: {describe(node, func)} produced shape {list(x.shape)}, "
                                   f"type says {r.type}")
        arrays.append(x)
    return arrays
