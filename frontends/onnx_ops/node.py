"""NodeView: what a converter sees of one ONNX node (attributes, inputs, constants, emit)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import ConstantRequiredError, UnsupportedOpError
from ...ir.graph import Param
from ...ir.types import DType, TensorType
from .context import ImportContext, onnx_dtype


def attribute_value(a: onnx.AttributeProto) -> Any:
    """A Python value for an attribute: str for strings, ndarray for tensors."""
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode("utf-8") for s in v]
    return v


def densify(s: onnx.SparseTensorProto) -> np.ndarray:
    """A dense array from a sparse tensor (flat or per-dimension indices)."""
    values = numpy_helper.to_array(s.values)
    indices = numpy_helper.to_array(s.indices)
    dense = np.zeros(int(np.prod(s.dims)), values.dtype)
    flat = indices if indices.ndim == 1 else np.ravel_multi_index(indices.T, tuple(s.dims))
    dense[flat] = values
    return dense.reshape(tuple(s.dims))


class ExpandInstead(Exception):
    """Raised by a converter for a variant it does not map: import the op's function body instead."""


class NodeView:
    """One ONNX node inside an ImportContext; converters read it and emit through it."""

    def __init__(self, ctx: ImportContext, proto: onnx.NodeProto, opset: int):
        self.ctx, self.proto, self.opset = ctx, proto, opset
        self.op_type, self.name, self.domain = proto.op_type, proto.name, proto.domain
        self.attrs = {a.name: attribute_value(a) for a in proto.attribute}

    @property
    def where(self) -> str:
        return f"{self.op_type} (opset {self.opset}) node '{self.name or self.proto.output[0]}'"

    def fail(self, msg: str):
        raise UnsupportedOpError(f"{self.where}: {msg}")

    def expand_instead(self, reason: str):
        raise ExpandInstead(reason)

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    @property
    def n_inputs(self) -> int:
        return len(self.proto.input)

    @property
    def n_outputs(self) -> int:
        return len(self.proto.output)

    def has(self, i: int) -> bool:
        return i < len(self.proto.input) and self.proto.input[i] != ""

    def has_output(self, i: int) -> bool:
        return i < len(self.proto.output) and self.proto.output[i] != ""

    def input(self, i: int):
        """Operand i (Value, Param or constant array), or None when absent."""
        return self.ctx.lookup(self.proto.input[i]) if self.has(i) else None

    def inputs(self) -> list:
        return [self.input(i) for i in range(self.n_inputs)]

    def const(self, i: int, default: Any = None) -> np.ndarray | None:
        """Input i as a NumPy array; it must be known at import time (initializer or constant)."""
        x = self.input(i)
        if x is None:
            return None if default is None else np.asarray(default)
        if isinstance(x, np.ndarray):
            return x
        if isinstance(x, Param) and x.data is not None:
            return np.asarray(x.data)
        raise ConstantRequiredError(
            f"{self.where}: input {i} ('{self.proto.input[i]}') must be a constant or an initializer, or be "
            "computable from static shapes; pass input_shapes to make the shapes static", self.proto.input[i])

    def ints(self, i: int, default: Any = None) -> list[int] | None:
        c = self.const(i, default)
        return None if c is None else [int(v) for v in np.asarray(c).reshape(-1)]

    def type(self, i: int) -> TensorType:
        return self.ctx.type_of(self.input(i))

    def shape(self, i: int) -> tuple:
        return self.type(i).shape

    def rank(self, i: int) -> int:
        return self.type(i).rank

    def static_shape(self, i: int) -> list[int]:
        shape = self.shape(i)
        if not all(isinstance(d, int) for d in shape):
            self.fail(f"input {i} needs a static shape here, got {list(shape)}")
        return list(shape)

    def dtype_attr(self, name: str = "to") -> DType:
        return onnx_dtype(self.attrs[name], f"{self.where} attribute '{name}'")

    def op(self, name: str, *operands, **attrs):
        return self.ctx.op(name, *operands, **attrs)
