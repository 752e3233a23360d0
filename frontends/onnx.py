"""ONNX -> kernforge IR: load and check a model, then import its graph node by node.

Per-op conversion lives in frontends/onnx_ops (one module per op family, dispatched through
a registry keyed by (domain, op_type) and opset); this module handles the graph itself:
params, inputs (with symbolic dims and input_shapes overrides), nodes and named outputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import InputError, ModelError, UnsupportedOpError
from ..ir.builder import FunctionBuilder
from ..ir.graph import Function, Module, Value
from ..ir.types import TensorType
from .onnx_ops import dispatch
from .onnx_ops.context import ImportContext, onnx_dtype, sanitize
from .onnx_ops.node import densify
from .onnx_ops.registry import LATEST, OLDEST

Shapes = Mapping[str, Sequence[Any]]
FOLDABLE_SIZE = 16  # initializers this small are folded like constants; larger ones stay params


def load_model(model: Any) -> onnx.ModelProto:
    """A ModelProto from a path (external data is loaded beside it), bytes or a ModelProto."""
    if isinstance(model, onnx.ModelProto):
        return model
    try:
        if isinstance(model, (bytes, bytearray)):
            return onnx.load_from_string(bytes(model))
        if isinstance(model, (str, os.PathLike)):
            return onnx.load(os.fspath(model))
    except (OSError, ValueError, onnx.onnx_cpp2py_export.checker.ValidationError) as e:
        raise ModelError(f"cannot load ONNX model {model!r}: {e}") from e
    except Exception as e:  # protobuf raises DecodeError for a file that is not a model
        raise ModelError(f"cannot load ONNX model {model!r}: {type(e).__name__}: {e}") from e
    raise ModelError(f"expected an ONNX model path, bytes or ModelProto, got {type(model).__name__}")


def check_model(model: onnx.ModelProto | str) -> None:
    """Run onnx.checker (on the path for a file: external data is checked beside it); an invalid
    model raises ModelError with the checker's message."""
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ModelError(f"invalid ONNX model: {e}") from e
    except ValueError as e:  # models over 2 GB must be checked from their path
        raise ModelError(f"invalid ONNX model: {e}") from e


def model_opsets(model: onnx.ModelProto) -> dict[str, int]:
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    if opsets.get("", 0) > LATEST:
        raise UnsupportedOpError(f"ONNX opset {opsets['']} is newer than this onnx package knows ({LATEST}); "
                                 f"kernforge imports opsets {OLDEST} to {LATEST}")
    return opsets


def from_onnx(model: Any, input_shapes: Shapes | None = None) -> Module:
    """Import an ONNX model (path, bytes or ModelProto) as a kernforge Module."""
    proto = load_model(model)
    check_model(os.fspath(model) if isinstance(model, (str, os.PathLike)) else proto)
    if proto.functions:
        proto = onnx.inliner.inline_local_functions(proto)
    return GraphImporter(proto, input_shapes or {}).run()


class GraphImporter:
    """Imports the main graph of one model into a Module with a single function `main`."""

    def __init__(self, model: onnx.ModelProto, input_shapes: Shapes):
        self.model, self.graph, self.input_shapes = model, model.graph, dict(input_shapes)
        self.opsets = model_opsets(model)
        self.module = Module(sanitize(self.graph.name or "model"))
        func = Function("main")
        self.module.functions["main"] = func
        self.ctx = ImportContext(FunctionBuilder(self.module, func), self.opsets)

    def run(self) -> Module:
        """Refuse unsupported ops (all at once), then import params, inputs, nodes and outputs."""
        missing = dispatch.unsupported(self.graph.node, self.opsets)
        if missing:
            raise UnsupportedOpError(f"{len(missing)} unsupported ONNX node(s): " + "; ".join(missing))
        initializers = self._params()
        self._inputs(initializers)
        for name in (o.name for o in self.graph.output):
            self.ctx.reserve(name)
        for node in self.graph.node:
            dispatch.convert_node(self.ctx, node)
        self._outputs()
        return self.module

    def _params(self) -> set[str]:
        """Initializers become params (also those that are graph inputs: they are constants);
        tiny ones are constants that fold and become params only where a node uses them."""
        names = set()
        arrays = [(t.name, _initializer(t)) for t in self.graph.initializer]
        arrays += [(s.values.name, densify(s)) for s in self.graph.sparse_initializer]
        for name, data in arrays:
            if data.size <= FOLDABLE_SIZE:  # shape vectors and scalars: known values that fold
                self.ctx.bind(name, data)
            else:
                self.ctx.env[name] = self.module.add_param(sanitize(name), data)
            names.add(name)
        return names

    def _inputs(self, initializers: set[str]) -> None:
        """Graph inputs that are not initializers become the function arguments."""
        declared = [i for i in self.graph.input if i.name not in initializers]
        unknown = sorted(set(self.input_shapes) - {i.name for i in declared})
        if unknown:
            raise InputError(f"input_shapes names {unknown}, which are not model inputs; "
                             f"inputs: {[i.name for i in declared]}")
        for info in declared:
            v = Value(self._input_type(info), self.ctx.reserve(info.name))
            self.ctx.fb.func.args.append(v)
            self.ctx.env[info.name] = v

    def _input_type(self, info: onnx.ValueInfoProto) -> TensorType:
        """The declared tensor type, refined by input_shapes."""
        if not info.type.HasField("tensor_type"):
            kind = info.type.WhichOneof("value") or "untyped"
            raise UnsupportedOpError(f"input '{info.name}' is of {kind}; kernforge imports tensor inputs only")
        tt = info.type.tensor_type
        dt = onnx_dtype(tt.elem_type, f"input '{info.name}'")
        declared = [_dim(d) for d in tt.shape.dim] if tt.HasField("shape") else None
        override = self.input_shapes.get(info.name)
        if override is None:
            if declared is None:
                raise InputError(f"input '{info.name}' has no shape in the model; give it with input_shapes")
            return TensorType(tuple(declared), dt)
        shape = [sanitize(d) if isinstance(d, str) else d for d in override]
        _check_override(info.name, declared, shape)
        return TensorType(tuple(shape), dt)

    def _outputs(self) -> None:
        """Return the graph outputs as values named after them (an identity where a value is shared)."""
        func, outputs = self.ctx.fb.func, []
        for info in self.graph.output:
            name = self.ctx.reserve(info.name)
            x = self.ctx.lookup(info.name)
            if isinstance(x, Value) and x.producer is not None and all(o is not x for o in outputs):
                x.name = name  # e.g. the input of a dropped Identity: it takes the output's name
            if not (isinstance(x, Value) and x.name == name and all(o is not x for o in outputs)):
                x = self.ctx.fb.op("identity", self.ctx.materialize(x))
                x.name = name
            outputs.append(x)
        func.outputs = outputs


def _dim(d: onnx.TensorShapeProto.Dimension):
    if d.HasField("dim_value"):
        return int(d.dim_value)
    return sanitize(d.dim_param) if d.dim_param else None


def _check_override(name: str, declared: list | None, shape: list) -> None:
    """input_shapes may refine the model's dims, not contradict them."""
    if declared is None:
        return
    if len(declared) != len(shape):
        raise InputError(f"input '{name}': input_shapes gives rank {len(shape)} {shape}, "
                         f"the model declares rank {len(declared)} {declared}")
    for i, (want, got) in enumerate(zip(declared, shape)):
        if isinstance(want, int) and isinstance(got, int) and want != got:
            raise InputError(f"input '{name}': input_shapes gives {shape}, the model declares {declared} (dim {i})")


def _initializer(t: onnx.TensorProto) -> np.ndarray:
    if t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data:
        raise ModelError(f"initializer '{t.name}' has external data that is not loaded; pass the model's path")
    onnx_dtype(t.data_type, f"initializer '{t.name}'")
    return numpy_helper.to_array(t)
