"""A builder for writing IR by hand: `f.conv2d(x, w, strides=[2, 2])` infers result types."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .graph import Function, Module, Node, Operand, Param, Value
from .ops import get_op
from .types import TensorType, tensor


class FunctionBuilder:
    """Appends nodes to one Function. Any registered op is available as a method."""

    def __init__(self, module: Module, func: Function):
        self.module, self.func = module, func

    def arg(self, name: str, shape: Sequence, dt="f32", layout: str | None = None) -> Value:
        v = Value(tensor(shape, dt, layout), name)
        self.func.args.append(v)
        return v

    def param(self, name: str, data: np.ndarray | None = None, type: TensorType | None = None) -> Param:
        return self.module.add_param(name, data, type)

    def op(self, name: str, *operands: Operand, region: Function | None = None, **attrs):
        """Append one node; returns its result, or a tuple of results."""
        opdef = get_op(name)
        attrs = opdef.check_attrs(attrs)
        types = opdef.infer_types([o.type for o in operands], attrs, region)
        node = Node(name, list(operands), attrs, [], region)
        node.results = [Value(t, None, node, i) for i, t in enumerate(types)]
        self.func.nodes.append(node)
        return node.results[0] if len(node.results) == 1 else tuple(node.results)

    def ret(self, *values: Operand) -> Function:
        self.func.outputs = list(values)
        return self.func

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        get_op(name)  # raises UnknownOpError for a typo
        return lambda *operands, **attrs: self.op(name, *operands, **attrs)


class Builder:
    """Builds a Module: `b = Builder("m"); f = b.function("main"); ...; b.module`."""

    def __init__(self, name: str = "module"):
        self.module = Module(name)

    def param(self, name: str, data: np.ndarray | None = None, type: TensorType | None = None) -> Param:
        return self.module.add_param(name, data, type)

    def function(self, name: str = "main") -> FunctionBuilder:
        func = Function(name)
        self.module.functions[name] = func
        return FunctionBuilder(self.module, func)


def region(name: str, module: Module | None = None) -> FunctionBuilder:
    """A builder for a detached Function, used as the body of a `fused` node."""
    return FunctionBuilder(module or Module(), Function(name))
