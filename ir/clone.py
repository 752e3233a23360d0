"""Deep copies of Modules and Functions, so passes can rewrite freely without touching the caller's IR."""

from __future__ import annotations

from typing import Any

from .graph import Function, Module, Node, Operand, Param, Value


def clone_module(module: Module) -> Module:
    """A deep copy: new Params (same names, types, shared read-only data), Nodes and Values."""
    out = Module(module.name)
    # Param data arrays are shared, not copied: weights can be huge and passes replace data, never mutate it.
    out.params = {name: Param(p.name, p.type, p.data) for name, p in module.params.items()}
    # Remap by identity: a stray Param that merely shares a name must stay stray, for the verifier.
    seed: dict[int, Operand] = {id(p): out.params[name] for name, p in module.params.items()}
    for name, func in module.functions.items():
        out.functions[name] = clone_function(func, dict(seed))
    return out


def clone_function(func: Function, values: dict[int, Operand] | None = None) -> Function:
    """Copy func and its regions; operands are remapped through `values` (id(old) -> new), else kept."""
    values = values if values is not None else {}
    out = Function(func.name)
    for a in func.args:
        values[id(a)] = new = Value(a.type, a.name)
        out.args.append(new)
    for node in func.nodes:
        out.nodes.append(_clone_node(node, values))
    out.outputs = [values.get(id(v), v) for v in func.outputs]
    return out


def _clone_node(node: Node, values: dict[int, Operand]) -> Node:
    operands = [values.get(id(v), v) for v in node.operands]
    # Regions get their own scope for args but see the outer map, in case they reference outer values.
    region = clone_function(node.region, dict(values)) if node.region is not None else None
    new = Node(node.op, operands, {k: _copy_attr(v) for k, v in node.attrs.items()}, [], region)
    for r in node.results:
        values[id(r)] = v = Value(r.type, r.name, new, r.index)
        new.results.append(v)
    return new


def _copy_attr(v: Any) -> Any:
    if isinstance(v, list):
        return [_copy_attr(x) for x in v]
    if isinstance(v, dict):
        return {k: _copy_attr(x) for k, x in v.items()}
    return v
