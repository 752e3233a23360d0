"""Bind symbolic dims to sizes and re-infer every type, giving a fully static module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import InputError, TypeInferenceError
from .graph import Function, Module, Node, Param, Value
from .interpreter import describe
from .ops import get_op
from .types import TensorType


def bind_symbols(func: Function, input_shapes: Mapping[str, Sequence[int]] | None,
                 default: int | None = 1) -> dict[str, int]:
    """Symbol -> size from given input shapes; unbound symbols get `default` (None: error)."""
    given = dict(input_shapes or {})
    unknown = set(given) - set(func.input_names)
    if unknown:
        raise InputError(f"input_shapes names unknown input(s) {sorted(unknown)}; inputs are {func.input_names}")
    symbols: dict[str, int] = {}
    for name, arg in zip(func.input_names, func.args):
        if name in given:
            _bind_one(name, list(given[name]), arg.type, symbols)
    for arg in func.args:
        for d in arg.type.shape:
            if not isinstance(d, int):
                if d in symbols:
                    continue
                if default is None:
                    raise InputError(f"dim ?{d or ''} of input '{arg.name}' is dynamic; give it in input_shapes")
                symbols[d] = default
    return symbols


def _bind_one(name: str, shape: list[int], t: TensorType, symbols: dict[str, int]) -> None:
    if len(shape) != t.rank:
        raise InputError(f"input_shapes['{name}'] = {shape} has rank {len(shape)}, the model's input is {t}")
    for i, (want, got) in enumerate(zip(t.shape, shape)):
        if isinstance(want, int) and want != got:
            raise InputError(f"input_shapes['{name}'] = {shape} disagrees with {t} at dim {i}")
        if isinstance(want, str) and symbols.setdefault(want, got) != got:
            raise InputError(f"input_shapes['{name}'] binds ?{want} to {got}, already {symbols[want]}")


def specialize(module: Module, symbols: Mapping[str, int],
               arg_shapes: Mapping[str, Sequence[int]] | None = None) -> Module:
    """A copy of the module with symbols replaced by sizes and every node type re-inferred."""
    out = Module(module.name, {}, dict(module.params))
    for fname, func in module.functions.items():
        out.functions[fname] = _specialize_function(func, symbols, arg_shapes or {})
    return out


def _static(t: TensorType, symbols: Mapping[str, int], given=None) -> TensorType:
    shape = list(given) if given is not None else [symbols.get(d, d) if isinstance(d, str) else d for d in t.shape]
    return TensorType(tuple(shape), t.dtype, t.layout, t.encoding)


def _specialize_function(func: Function, symbols, arg_shapes, arg_types=None) -> Function:
    names = func.input_names
    args = [Value(arg_types[i] if arg_types else _static(a.type, symbols, arg_shapes.get(names[i])), a.name)
            for i, a in enumerate(func.args)]
    env: dict[int, Value | Param] = {id(a): b for a, b in zip(func.args, args)}
    new = Function(func.name, args)
    for node in func.nodes:
        operands = [v if isinstance(v, Param) else env[id(v)] for v in node.operands]
        region = None
        if node.region is not None:
            region = _specialize_function(node.region, symbols, {}, [v.type for v in operands])
        opdef = get_op(node.op)
        try:
            types = opdef.infer_types([v.type for v in operands], node.attrs, region)
        except TypeInferenceError as e:
            raise TypeInferenceError(f"{describe(node, func)}: {e}") from None
        clone = Node(node.op, operands, dict(node.attrs), [], region)
        clone.results = [Value(_keep_layout(t, r.type), r.name, clone, i)
                         for i, (t, r) in enumerate(zip(types, node.results))]
        env.update({id(r): c for r, c in zip(node.results, clone.results)})
        new.nodes.append(clone)
    new.outputs = [v if isinstance(v, Param) else env[id(v)] for v in func.outputs]
    return new


def _keep_layout(inferred: TensorType, old: TensorType) -> TensorType:
    return TensorType(inferred.shape, inferred.dtype, old.layout, old.encoding)
