"""Common-subexpression elimination: merge nodes with the same op, operands and attributes."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np

from ..ir.graph import Function, Module, Node, Operand
from .manager import register_pass


@register_pass("cse")
def cse(module: Module) -> Module:
    """Merge identical region-free nodes (same op, operands, attributes); keep the first."""
    for func in module.functions.values():
        eliminate_common_subexpressions(func, {})
    return module


def eliminate_common_subexpressions(func: Function, replaced: dict[int, Operand]) -> None:
    """One forward sweep; `replaced` maps id(dropped result) -> kept result and is shared with regions."""
    seen: dict[Hashable, Node] = {}
    kept = []
    for node in func.nodes:
        node.operands = [replaced.get(id(v), v) for v in node.operands]
        if node.region is not None:
            # A region is its own scope: its values can't be merged with the enclosing function's.
            eliminate_common_subexpressions(node.region, replaced)
            kept.append(node)
            continue
        key = node_key(node)
        first = seen.setdefault(key, node)
        if first is node:
            kept.append(node)
            continue
        for old, new in zip(node.results, first.results):
            replaced[id(old)] = new
            if new.name is None and old.name is not None:
                new.name = old.name  # keep a named result's name (e.g. a returned value's output name)
    func.nodes = kept
    func.outputs = [replaced.get(id(v), v) for v in func.outputs]


def node_key(node: Node) -> Hashable:
    """What makes two nodes interchangeable: op, operand identities, attributes, declared result types."""
    return (node.op, tuple(id(v) for v in node.operands),
            tuple(sorted((k, hashable(v)) for k, v in node.attrs.items())),
            tuple(r.type for r in node.results))


def hashable(v: Any) -> Hashable:
    """A hashable stand-in for an attribute value; equal attributes give equal keys."""
    if isinstance(v, (list, tuple)):
        return ("seq", tuple(hashable(x) for x in v))
    if isinstance(v, dict):
        return ("map", tuple(sorted((k, hashable(x)) for k, x in v.items())))
    if isinstance(v, np.ndarray):
        return ("array", str(v.dtype), v.shape, v.tobytes())
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return ("nan",)  # nan != nan would make two identical attributes look different
    if isinstance(v, bool):
        return ("bool", v)  # True == 1 == 1.0 as dict keys; attributes of different kinds must not merge
    if isinstance(v, (float, np.floating)):
        return ("float", float(v))
    return v
