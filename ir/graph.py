"""The graph IR: SSA Values, module Params, Nodes, Functions (also used as fused regions), Modules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from ..errors import KernforgeError
from .types import TensorType, type_of


class Value:
    """An SSA value: a function argument or a node result. name=None means anonymous (%0, %1…)."""

    __slots__ = ("type", "name", "producer", "index")

    def __init__(self, type: TensorType, name: str | None = None, producer: Node | None = None, index: int = 0):
        self.type, self.name, self.producer, self.index = type, name, producer, index

    def __repr__(self) -> str:
        return f"Value(%{self.name or '?'}: {self.type})"


class Param:
    """A module-level constant, referenced by name (@w) from any function; data may be absent."""

    __slots__ = ("name", "type", "data")

    def __init__(self, name: str, type: TensorType, data: np.ndarray | None = None):
        self.name, self.type, self.data = name, type, data

    def __repr__(self) -> str:
        return f"Param(@{self.name}: {self.type})"


Operand = Union[Value, Param]
AttrValue = Union[int, float, str, bool, list, tuple, None]


@dataclass(eq=False)
class Node:
    """One op application. `region` holds the body Function of a `fused` node."""

    op: str
    operands: list[Operand]
    attrs: dict[str, Any]
    results: list[Value]
    region: Function | None = None

    @property
    def result(self) -> Value:
        if len(self.results) != 1:
            raise KernforgeError(f"node {self.op} has {len(self.results)} results, not 1")
        return self.results[0]

    def __repr__(self) -> str:
        return f"Node({self.op}, {len(self.operands)} operands, {len(self.results)} results)"


@dataclass(eq=False)
class Function:
    """An ordered list of nodes with arguments and returned values (outputs)."""

    name: str
    args: list[Value] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    outputs: list[Operand] = field(default_factory=list)

    @property
    def result_types(self) -> list[TensorType]:
        return [v.type for v in self.outputs]

    @property
    def input_names(self) -> list[str]:
        return [a.name or f"arg{i}" for i, a in enumerate(self.args)]

    @property
    def output_names(self) -> list[str]:
        """Each output is named after its value when named, else out<i>; repeats get a suffix."""
        names: list[str] = []
        for i, v in enumerate(self.outputs):
            name = v.name or f"out{i}"
            names.append(name if name not in names else f"{name}_{i}")
        return names

    def walk(self) -> Iterator[Node]:
        """Every node, including nodes of nested regions (pre-order)."""
        for node in self.nodes:
            yield node
            if node.region is not None:
                yield from node.region.walk()

    def users(self) -> dict[int, list[Node]]:
        """Map id(value) -> nodes of this function that use it."""
        out: dict[int, list[Node]] = {}
        for node in self.nodes:
            for v in node.operands:
                out.setdefault(id(v), []).append(node)
        return out

    def replace_uses(self, old: Operand, new: Operand) -> None:
        for node in self.nodes:
            node.operands = [new if v is old else v for v in node.operands]
        self.outputs = [new if v is old else v for v in self.outputs]


@dataclass(eq=False)
class Module:
    """Functions plus a parameter table shared by them."""

    name: str = "module"
    functions: dict[str, Function] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)

    @property
    def main(self) -> Function:
        if "main" in self.functions:
            return self.functions["main"]
        if not self.functions:
            raise KernforgeError(f"module @{self.name} has no functions")
        return next(iter(self.functions.values()))

    def add_param(self, name: str, data: np.ndarray | None = None, type: TensorType | None = None) -> Param:
        """Add a constant; a taken name gets a numeric suffix. Returns the new Param."""
        if type is None and data is None:
            raise KernforgeError(f"param @{name} needs data or a type")
        base, k = name, 1
        while name in self.params:
            name, k = f"{base}_{k}", k + 1
        p = Param(name, type if type is not None else type_of(np.asarray(data)), data)
        self.params[name] = p
        return p

    def used_params(self) -> set[str]:
        used = set()
        for f in self.functions.values():
            for node in f.walk():
                used.update(v.name for v in node.operands if isinstance(v, Param))
            used.update(v.name for v in f.outputs if isinstance(v, Param))
        return used

    def __str__(self) -> str:
        from .printer import print_module

        return print_module(self)
