"""An onnx.backend.base.Backend that imports models with from_onnx and runs them in the
kernforge interpreter (mode "interp") or compiles them with kernforge.compile and runs the
compiled kernels (mode "compiled"), so onnx.backend.test.BackendTest can run the node tests.

kernforge graphs are static: ONNX inputs that the IR needs as attributes (Reshape's shape,
Slice's starts, Pad's pads, ...) must be constants. When a model feeds them from graph
inputs, as the node tests do, the prepared rep specializes the model at run time: exactly
those graph inputs (and those they are computed from) become initializers with the values
given, and the specialized module is cached per value. Every other input stays dynamic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.backend.base import Backend, BackendRep

from ..errors import ConstantRequiredError
from ..ir.graph import Module
from ..ir.interpreter import interpret
from .onnx import from_onnx

MAX_SPECIALIZATIONS = 8  # rounds of freezing inputs before giving up
MODES = ("interp", "compiled")


def _ancestor_inputs(graph: onnx.GraphProto, value: str, inputs: set[str]) -> set[str]:
    """Graph inputs that `value` is computed from (or value itself if it is one)."""
    producer = {o: node for node in graph.node for o in node.output}
    seen, stack, found = set(), [value], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            found.add(name)
        elif name in producer:
            stack.extend(i for i in producer[name].input if i)
    return found


def _freeze(model: onnx.ModelProto, values: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of model whose graph inputs in `values` are Constant nodes holding those values."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    keep = [i for i in out.graph.input if i.name not in values]
    del out.graph.input[:]
    out.graph.input.extend(keep)
    consts = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(v)))
              for name, v in values.items()]
    nodes = consts + list(out.graph.node)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    return out


class KernforgeRep(BackendRep):
    """A prepared model: imported once, or specialized on its attribute-like inputs per run."""

    def __init__(self, model: onnx.ModelProto, mode: str = "interp"):
        """Import now; if attribute-like inputs are dynamic, remember which to freeze at run time."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.model, self.mode = model, mode
        inits = {t.name for t in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in inits]
        self.frozen: set[str] = set()
        self._cache: dict[bytes, Module] = {}
        self._compiled: dict[tuple, Any] = {}
        try:
            self.module: Module | None = from_onnx(model)
        except ConstantRequiredError as e:
            self.module = None
            self._grow_frozen(e)

    def _grow_frozen(self, e: ConstantRequiredError) -> None:
        """Freeze the inputs behind the value e names; if none are known, every integer input."""
        dynamic = set(self.input_names) - self.frozen
        found = _ancestor_inputs(self.model.graph, e.value_name, dynamic)
        if not found:
            found = {i.name for i in self.model.graph.input if i.name in dynamic
                     and i.type.tensor_type.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16,
                                                              onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16)}
        if not found:
            raise e
        self.frozen |= found

    def _specialized(self, feeds: dict[str, np.ndarray]) -> Module:
        """The module with the frozen inputs bound to these values (cached per value)."""
        for _ in range(MAX_SPECIALIZATIONS):
            key = b"".join(name.encode() + np.asarray(feeds[name]).tobytes() for name in sorted(self.frozen))
            if key in self._cache:
                return self._cache[key]
            try:
                module = from_onnx(_freeze(self.model, {n: feeds[n] for n in self.frozen}))
            except ConstantRequiredError as e:
                self._grow_frozen(e)
                continue
            self._cache[key] = module
            return module
        raise ConstantRequiredError(f"could not specialize the model on inputs {sorted(self.frozen)}")

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            feeds = {k: np.asarray(v) for k, v in inputs.items()}
        else:
            feeds = {name: np.asarray(x) for name, x in zip(self.input_names, inputs)}
        module = self.module if self.module is not None else self._specialized(feeds)
        args = [feeds[name] for name in self.input_names if name not in self.frozen]
        if self.mode == "compiled":
            return tuple(self._compile(module, args).run(args).values())
        return tuple(interpret(module, args).values())

    def _compile(self, module: Module, args: list[np.ndarray]):
        """The module compiled for these input shapes (cached per module and shapes)."""
        from ..api import compile as kf_compile

        shapes = {name: list(np.shape(a)) for name, a in zip(module.main.input_names, args)}
        key = (id(module), tuple((n, tuple(s)) for n, s in shapes.items()))
        if key not in self._compiled:
            self._compiled[key] = kf_compile(module, input_shapes=shapes)
        return self._compiled[key]


class KernforgeBackend(Backend):
    """kernforge as an ONNX backend (CPU only): interpreted, or compiled when mode = "compiled"."""

    mode = "interp"

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> KernforgeRep:
        return KernforgeRep(model, kwargs.get("mode", cls.mode))

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Sequence[np.ndarray], device: str = "CPU",
                 outputs_info: Sequence[tuple] | None = None, **kwargs: Any):
        """Run one node by wrapping it in a model whose inputs are typed from the arrays given."""
        arrays = [np.asarray(x) for x in inputs]
        graph_inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
                        for name, x in zip(node.input, arrays) if name]
        opset = kwargs.get("opset_version", onnx.defs.onnx_opset_version())
        model = helper.make_model(helper.make_graph([node], "run_node", graph_inputs, []),
                                  opset_imports=[helper.make_opsetid(node.domain, opset)])
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
        model.graph.output.extend(inferred[name] for name in node.output if name)
        return cls.run_model(model, [x for name, x in zip(node.input, arrays) if name], device)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


prepare = KernforgeBackend.prepare
run_model = KernforgeBackend.run_model
run_node = KernforgeBackend.run_node
supports_device = KernforgeBackend.supports_device


class CompiledKernforgeBackend(KernforgeBackend):
    """The same backend, compiling every model with kernforge.compile for the host CPU."""

    mode = "compiled"
