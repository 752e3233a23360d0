"""Dead-code elimination: drop nodes whose results are never used, then params nobody references."""

from __future__ import annotations

from ..ir.graph import Function, Module
from .manager import register_pass


@register_pass("dce")
def dce(module: Module) -> Module:
    """Remove nodes with unused results (regions too) and unreferenced params."""
    for func in module.functions.values():
        eliminate_dead_nodes(func)
    used = module.used_params()
    module.params = {name: p for name, p in module.params.items() if name in used}
    return module


def eliminate_dead_nodes(func: Function) -> None:
    """Backward liveness sweep from the outputs; every op is side-effect free, so unused means dead."""
    live = {id(v) for v in func.outputs}
    kept = []
    for node in reversed(func.nodes):
        if not any(id(r) in live for r in node.results):
            continue
        kept.append(node)
        live.update(id(v) for v in node.operands)
    func.nodes = kept[::-1]
    for node in func.nodes:
        if node.region is not None:
            # Region outputs are the fused node's results, so they stay; only the region's interior shrinks.
            eliminate_dead_nodes(node.region)
