"""Import state shared by converters: the value environment, constant folding and value naming.

An environment entry is a Value, a Param, or a NumPy array: a constant known at import time.
Ops whose operands are all such arrays are evaluated with their NumPy reference instead of
being emitted, which folds shape sub-graphs (Shape -> Gather -> Concat -> Reshape) away.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from onnx import helper

from ...errors import KernforgeError, ModelError, UnsupportedOpError
from ...ir.builder import FunctionBuilder
from ...ir.graph import Param, Value
from ...ir.ops import get_op
from ...ir.types import DType, TensorType, dtype, type_of

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.]")


def sanitize(name: str) -> str:
    """An identifier [A-Za-z_][A-Za-z0-9_.]* that still resembles name."""
    out = _BAD_CHARS.sub("_", name)
    return out if out[:1].isalpha() or out[:1] == "_" else "v" + out


class Namer:
    """Hands out unique sanitized names; a repeat gets a numeric suffix."""

    def __init__(self):
        self.taken: set[str] = set()

    def unique(self, raw: str) -> str:
        base = name = sanitize(raw)
        k = 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


def onnx_dtype(elem_type: int, what: str) -> DType:
    """The IR dtype of an ONNX element type, or UnsupportedOpError naming what carries it."""
    try:
        return dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (KernforgeError, KeyError, TypeError, ValueError):
        name = helper.tensor_dtype_to_string(elem_type) if elem_type else "undefined"
        raise UnsupportedOpError(f"{what}: ONNX element type {name} is not supported by kernforge") from None


class Unavailable:
    """An ONNX output kernforge does not produce (e.g. MaxPool indices); an error only if used."""

    def __init__(self, reason: str):
        self.reason = reason


class ImportContext:
    """The environment of one function being imported, plus folding and naming helpers."""

    def __init__(self, fb: FunctionBuilder, opsets: dict[str, int]):
        self.fb, self.module, self.opsets = fb, fb.module, opsets
        self.env: dict[str, Any] = {}
        self.names = Namer()
        self.reserved: dict[str, str] = {}  # ONNX graph input/output name -> its IR name
        self._materialized: dict[int, tuple[np.ndarray, Param]] = {}
        self._hints: dict[int, tuple[np.ndarray, str]] = {}

    def reserve(self, onnx_name: str) -> str:
        if onnx_name not in self.reserved:
            self.reserved[onnx_name] = self.names.unique(onnx_name)
        return self.reserved[onnx_name]

    def lookup(self, name: str):
        try:
            x = self.env[name]
        except KeyError:
            raise ModelError(f"value '{name}' is used before it is defined") from None
        if isinstance(x, Unavailable):
            raise UnsupportedOpError(x.reason)
        return x

    def bind(self, name: str, x) -> None:
        """Record an ONNX value; a fresh anonymous node result takes its (sanitized) name."""
        if isinstance(x, Value) and x.name is None and x.producer is not None:
            x.name = self.reserved.get(name) or self.names.unique(name)
        elif isinstance(x, np.ndarray):
            self._hints[id(x)] = (x, name)
        self.env[name] = x

    def type_of(self, x) -> TensorType:
        return type_of(x) if isinstance(x, np.ndarray) else x.type

    def materialize(self, x):
        """An operand usable by a node: a constant array becomes a module param."""
        if not isinstance(x, np.ndarray):
            return x
        hit = self._materialized.get(id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        hint = self._hints.get(id(x))
        p = self.module.add_param(sanitize(hint[1]) if hint and hint[0] is x else "const", x)
        self._materialized[id(x)] = (x, p)  # keep x alive so its id is not reused
        return p

    def op(self, name: str, *operands, **attrs):
        """Emit op `name`, or evaluate it now when every operand is a constant array."""
        if all(isinstance(o, np.ndarray) for o in operands):
            return self.fold(name, list(operands), attrs)
        return self.fb.op(name, *[self.materialize(o) for o in operands], **attrs)

    def fold(self, name: str, arrays: list[np.ndarray], attrs: dict):
        opdef = get_op(name)
        attrs = opdef.check_attrs(attrs)
        types = opdef.infer_types([type_of(a) for a in arrays], attrs)
        outs = opdef.evaluate(arrays, attrs)
        outs = [np.asarray(o).astype(t.dtype.numpy, copy=False) for o, t in zip(outs, types)]
        return outs[0] if len(outs) == 1 else tuple(outs)
