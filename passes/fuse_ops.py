"""Operator fusion: chains of ops become one `fused` node whose region is a nested Function.

TVM-style, dataflow version: an out-fusable op (conv, matmul, dense, gemm) absorbs the chain of
elementwise/broadcast ops consuming it; chains of elementwise/broadcast/injective ops fuse too.
"""

from __future__ import annotations

from ..ir.graph import Function, Module, Node, Operand, Value
from ..ir.ops import get_op
from ..ir.ops.registry import BROADCAST, ELEMWISE, INJECTIVE, OUT_FUSABLE
from .manager import register_pass

# What a group led by an op of a given fusion kind may absorb downstream.
_ABSORBS = {
    OUT_FUSABLE: {ELEMWISE, BROADCAST},
    ELEMWISE: {ELEMWISE, BROADCAST, INJECTIVE},
    BROADCAST: {ELEMWISE, BROADCAST, INJECTIVE},
    INJECTIVE: {ELEMWISE, BROADCAST, INJECTIVE},
}


@register_pass("fuse-ops")
def fuse_ops(module: Module) -> Module:
    """Fuse out-fusable ops with their elementwise epilogues, and elementwise chains, into `fused` nodes."""
    for func in module.functions.values():
        fuse_function(func)
    return module


def fuse_function(func: Function) -> None:
    """Rewrite one function in place; nested regions are left alone."""
    replace_groups(func, [g for g in find_groups(func) if len(g) > 1], make_fused)


def replace_groups(func: Function, groups: list[list[Node]], merge) -> None:
    """Each group of nodes becomes merge(group), placed where its last node (its tip) was."""
    tips = {id(g[-1]): g for g in groups}
    members = {id(n) for g in groups for n in g}
    nodes = []
    for node in func.nodes:
        if id(node) in tips:
            nodes.append(merge(tips[id(node)]))
        elif id(node) not in members:
            nodes.append(node)
    func.nodes = nodes


def find_groups(func: Function) -> list[list[Node]]:
    """Partition the fusable nodes into chains, in node order; each chain's last node is its tip."""
    users = {k: {id(n) for n in ns} for k, ns in func.users().items()}
    outputs = {id(v) for v in func.outputs}
    group_of: dict[int, list[Node]] = {}
    groups: list[list[Node]] = []
    for node in func.nodes:
        kind = fusion_kind(node)
        if kind is None:
            continue
        group = _joinable_group(node, kind, group_of, users, outputs)
        if group is None:
            group = []
            groups.append(group)
        group.append(node)
        group_of[id(node)] = group
    return groups


def fusion_kind(node: Node) -> str | None:
    """The node's fusion kind if it may take part in a group at all, else None."""
    if node.region is not None or len(node.results) != 1:
        return None
    kind = get_op(node.op).fusion
    return kind if kind in _ABSORBS else None


def _joinable_group(node: Node, kind: str, group_of: dict, users: dict, outputs: set) -> list[Node] | None:
    """The group whose tip feeds `node` and may absorb it, if any."""
    if kind == OUT_FUSABLE:
        return None  # an out-fusable op always leads its own group: never two in one kernel
    for v in node.operands:
        group = group_of.get(id(v.producer)) if isinstance(v, Value) and v.producer else None
        if group is None or group[-1] is not v.producer:
            continue
        # The tip's value must die inside the kernel, or it would have to be materialized anyway.
        if users.get(id(v)) != {id(node)} or id(v) in outputs:
            continue
        if kind in _ABSORBS[lead_kind(group)]:
            return group
    return None


def lead_kind(group: list[Node]) -> str:
    """OUT_FUSABLE if the group has an out-fusable op (always its first), else ELEMWISE."""
    return OUT_FUSABLE if get_op(group[0].op).fusion == OUT_FUSABLE else ELEMWISE


def make_fused(group: list[Node]) -> Node:
    """One `fused` node for a chain: external inputs (params included) become region arguments."""
    inside = {id(n.result) for n in group}
    inputs: list[Operand] = []
    for n in group:
        for v in n.operands:
            if id(v) not in inside and all(v is not w for w in inputs):
                inputs.append(v)
    args = [Value(v.type, f"in{i}") for i, v in enumerate(inputs)]
    values: dict[int, Operand] = {id(v): a for v, a in zip(inputs, args)}
    body = []
    for n in group:
        clone = Node(n.op, [values[id(v)] for v in n.operands], dict(n.attrs), [])
        clone.results = [Value(n.result.type, None, clone, 0)]
        values[id(n.result)] = clone.result
        body.append(clone)
    kind = "+".join(n.op for n in group)
    region = Function("body", args, body, [body[-1].result])
    # The tip's Value becomes the fused node's result, so its users and its name need no rewrite.
    tip = group[-1].result
    fused = Node("fused", list(inputs), {"kind": kind}, [tip], region)
    tip.producer, tip.index = fused, 0
    return fused
