"""Control flow that folds at import time: If with a constant condition inlines its branch."""

from __future__ import annotations

from .node import NodeView
from .registry import converter


@converter("If")
def if_(n: NodeView):
    """The taken branch's nodes are imported in place; they see the enclosing scope's values."""
    from .dispatch import convert_node

    cond = bool(n.const(0).reshape(-1)[0])
    branch = n.attr("then_branch" if cond else "else_branch")
    for init in branch.initializer:
        from onnx import numpy_helper

        n.ctx.env[init.name] = numpy_helper.to_array(init)
    for node in branch.node:
        convert_node(n.ctx, node)
    return [n.ctx.lookup(o.name) for o in branch.output]
