"""The IR text printer. Anonymous values print as %0, %1, ... in order; named values keep names."""

from __future__ import annotations

import json
import math
import re

import numpy as np

from .graph import Function, Module, Node, Param, Value
from .ops import get_op
from .types import DType

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
ELIDE_ABOVE = 16  # params with more elements print without their data


def format_scalar(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, DType):
        return v.name
    if isinstance(v, str):
        return json.dumps(v)
    if v is None:
        return "none"
    f = float(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return repr(f)


def format_attr(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_attr(x) for x in v) + "]"
    return format_scalar(v)


def format_data(a: np.ndarray) -> str:
    """dense<...> literal: nested lists; floats are printed so they parse back bit-exactly."""
    if a.ndim == 0:
        return format_scalar(_py(a[()], a.dtype))
    return "[" + ", ".join(format_data(x) for x in a) + "]"


def _py(x, dt: np.dtype):
    if dt == np.bool_:
        return bool(x)
    if np.issubdtype(dt, np.integer) or dt.kind in "iu" or "int" in dt.name:
        return int(x)
    return float(x)


class _Namer:
    """Assigns printed names: named values keep theirs, anonymous ones get the next number."""

    def __init__(self):
        self.names: dict[int, str] = {}
        self.next = 0

    def define(self, v: Value, fallback: str | None = None) -> str:
        name = v.name if v.name and IDENT.fullmatch(v.name) else fallback
        if name is None:
            name, self.next = str(self.next), self.next + 1
        self.names[id(v)] = name
        return "%" + name

    def ref(self, v) -> str:
        if isinstance(v, Param):
            return "@" + v.name
        return "%" + self.names.get(id(v), "<undefined>")


def _signature(func: Function, namer: _Namer) -> str:
    args = ", ".join(f"{namer.define(a, f'arg{i}')}: {a.type}" for i, a in enumerate(func.args))
    results = [str(t) for t in func.result_types]
    ret = results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"
    return f"func @{func.name}({args}) -> {ret}"


def _print_node(node: Node, namer: _Namer, indent: str, lines: list[str]) -> None:
    operands = ", ".join(namer.ref(v) for v in node.operands)
    attrs = _format_attrs(node)
    results = ", ".join(namer.define(r) for r in node.results)
    types = ", ".join(str(r.type) for r in node.results)
    head = f"{indent}{results} = {node.op}({operands}){attrs} : {types}"
    if node.region is None:
        lines.append(head)
        return
    lines.append(head + " {")
    _print_function(node.region, indent + "  ", lines)
    lines.append(indent + "}")


def _format_attrs(node: Node) -> str:
    schema = get_op(node.op).attrs
    shown = [(k, v) for k, v in node.attrs.items() if k not in schema or schema[k].default != v]
    if not shown:
        return ""
    return " {" + ", ".join(f"{k} = {format_attr(v)}" for k, v in shown) + "}"


def _print_function(func: Function, indent: str, lines: list[str]) -> None:
    namer = _Namer()
    lines.append(f"{indent}{_signature(func, namer)} {{")
    for node in func.nodes:
        _print_node(node, namer, indent + "  ", lines)
    outputs = ", ".join(namer.ref(v) for v in func.outputs)
    lines.append(f"{indent}  return {outputs}".rstrip())  # a bare "return" has no trailing space
    lines.append(indent + "}")


def print_param(p: Param) -> str:
    text = f"param @{p.name} : {p.type}"
    if p.data is not None and np.asarray(p.data).size <= ELIDE_ABOVE:
        text += f" = dense<{format_data(np.asarray(p.data))}>"
    return text


def print_function(func: Function) -> str:
    lines: list[str] = []
    _print_function(func, "", lines)
    return "\n".join(lines) + "\n"


def print_module(module: Module) -> str:
    """The module's text form; parse_module(print_module(m)) prints back identically."""
    lines = [f"module @{module.name} {{"]
    lines += [f"  {print_param(p)}" for p in module.params.values()]
    for func in module.functions.values():
        _print_function(func, "  ", lines)
    lines.append("}")
    return "\n".join(lines) + "\n"
