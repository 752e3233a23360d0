"""The NumPy interpreter: runs any module with the ops' reference implementations. The oracle."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Union

import numpy as np

from ..errors import InputError, InterpreterError, KernforgeError
from .graph import Function, Module, Node, Param
from .ops import get_op
from .types import TensorType

Inputs = Union[Mapping[str, np.ndarray], Sequence[np.ndarray]]


def describe(node: Node, func: Function, index: int | None = None) -> str:
    """A short locator for error messages: op, result name and position in the function."""
    named = [r.name for r in node.results if r.name]
    where = f"%{named[0]} = " if named else ""
    index = func.nodes.index(node) if index is None else index
    return f"{where}{node.op} (node {index} of @{func.name})"


def order_inputs(names: list[str], inputs: Inputs, who: str) -> list:
    """Inputs given by name or in order, as a list in `names` order; a wrong set is an InputError."""
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        extra = [n for n in inputs if n not in names]
        if missing or extra:
            raise InputError(f"{who} expects inputs {names}; missing {missing}, unexpected {extra}")
        return [inputs[n] for n in names]
    arrays = list(inputs)
    if len(arrays) != len(names):
        raise InputError(f"{who} expects {len(names)} inputs {names}, got {len(arrays)}")
    return arrays


def bind_inputs(func: Function, inputs: Inputs) -> list[np.ndarray]:
    """Check inputs against the signature: names, dtypes, static dims and consistent symbols."""
    names = func.input_names
    arrays = order_inputs(names, inputs, f"@{func.name}")
    symbols: dict[str, int] = {}
    return [_check_input(n, np.asarray(a), arg.type, symbols) for n, a, arg in zip(names, arrays, func.args)]


def _check_input(name: str, a: np.ndarray, t: TensorType, symbols: dict) -> np.ndarray:
    if a.dtype != t.dtype.numpy:
        raise InputError(f"input '{name}' has dtype {a.dtype}, expected {t.dtype} ({t.dtype.numpy})")
    if a.ndim != t.rank:
        raise InputError(f"input '{name}' has shape {list(a.shape)}, expected rank {t.rank} ({t})")
    for i, (got, want) in enumerate(zip(a.shape, t.shape)):
        if isinstance(want, int) and got != want:
            raise InputError(f"input '{name}' has shape {list(a.shape)}, expected {t} (dim {i})")
        if isinstance(want, str) and symbols.setdefault(want, got) != got:
            raise InputError(f"input '{name}' dim {i} is {got} but ?{want} was bound to {symbols[want]}")
    return a


def run_function(func: Function, arrays: list[np.ndarray], params: Mapping[str, Param] | None = None,
                 observe: Callable[[Node, list[np.ndarray]], None] | None = None) -> list[np.ndarray]:
    """Evaluate func node by node on already-checked argument arrays; observe(node, operand arrays),
    if given, sees every node's inputs (calibration)."""
    env: dict[int, np.ndarray] = {id(a): x for a, x in zip(func.args, arrays)}

    def lookup(v):
        if isinstance(v, Param):
            if v.data is None:
                raise InterpreterError(f"param @{v.name} has no data; the interpreter needs its values")
            return np.asarray(v.data)
        return env[id(v)]

    for node in func.nodes:
        ins = [lookup(v) for v in node.operands]
        if observe is not None:
            observe(node, ins)
        outs = _eval_node(node, ins, func)
        for r, x in zip(node.results, outs):
            env[id(r)] = x
    return [lookup(v) for v in func.outputs]


def _eval_node(node: Node, ins: list[np.ndarray], func: Function) -> list[np.ndarray]:
    try:
        outs = get_op(node.op).evaluate(ins, node.attrs, node.region)
    except KernforgeError:
        raise
    except Exception as e:  # a reference crashing on legal input is a bug; name the node
        raise InterpreterError(f"{describe(node, func)} failed: {type(e).__name__}: {e}") from e
    if len(outs) != len(node.results):
        raise InterpreterError(f"{describe(node, func)} produced {len(outs)} results, expected {len(node.results)}")
    checked = []
    for r, x in zip(node.results, outs):
        x = np.asarray(x)
        want = r.type
        if x.ndim != want.rank or any(isinstance(d, int) and d != s for d, s in zip(want.shape, x.shape)):
            raise InterpreterError(f"{describe(node, func)} produced shape {list(x.shape)}, type says {want}")
        checked.append(x.astype(want.dtype.numpy, copy=False))
    return checked


def interpret(module: Module, inputs: Inputs, function: str | None = None,
              observe: Callable[[Node, list[np.ndarray]], None] | None = None) -> dict[str, np.ndarray]:
    """Run a function (default: main) on inputs given by name or in order; outputs by name."""
    func = module.functions[function] if function else module.main
    outs = run_function(func, bind_inputs(func, inputs), module.params, observe)
    return dict(zip(func.output_names, outs))
