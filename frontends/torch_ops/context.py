"""What a converter sees: the FX node being converted, its FakeTensor metadata, and helpers
that emit IR (constants, casts, dtype promotion) into the function being built."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...errors import UnsupportedOpError
from ...ir.builder import FunctionBuilder
from ...ir.graph import Param, Value
from ...ir.types import Dim, DType, TensorType, dtype

_TORCH_TO_IR = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
    torch.bool: "bool",
}
_IR_TO_TORCH = {v: k for k, v in _TORCH_TO_IR.items()}


def ir_dtype(tdt: torch.dtype) -> DType:
    if tdt not in _TORCH_TO_IR:
        raise UnsupportedOpError(f"torch dtype {tdt} has no kernforge equivalent")
    return dtype(_TORCH_TO_IR[tdt])


def torch_dtype(dt: DType) -> torch.dtype:
    return _IR_TO_TORCH[dt.name]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A NumPy copy of a (CPU) tensor; bfloat16 goes through float32, which NumPy lacks."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(ir_dtype(t.dtype).numpy)
    return t.numpy().copy()


def is_tensor(x: Any) -> bool:
    return isinstance(x, (Value, Param))


class Ctx:
    """Converter context: `cx.op(...)` appends IR; `cx.val` is torch's FakeTensor for the node."""

    def __init__(self, builder: FunctionBuilder, symbols: dict):
        self.b, self.symbols = builder, symbols  # symbols: sympy.Symbol -> IR dim name
        self.node = None
        self._consts: dict[tuple, Param] = {}

    @property
    def overload(self) -> str:
        return self.node.target._overloadname

    @property
    def val(self):
        return self.node.meta.get("val")

    def op(self, name: str, *operands, **attrs):
        return self.b.op(name, *operands, **attrs)

    def fail(self, why: str):
        raise UnsupportedOpError(why)

    # --- shapes and dtypes from torch's metadata -------------------------------------------
    def dim(self, d) -> Dim:
        """An IR dim for an int or SymInt: a size, a Dim's name, or None for an expression."""
        if isinstance(d, int):
            return d
        expr = d.node.expr
        if expr.is_number:
            return int(expr)
        return self.symbols.get(expr, str(expr)) if expr.is_Symbol else None

    def shape(self, val=None) -> tuple:
        val = self.first_val() if val is None else val
        return tuple(self.dim(d) for d in val.shape)

    def first_val(self):
        val = self.val
        return val[0] if isinstance(val, (tuple, list)) else val

    def out_dtype(self) -> DType:
        return ir_dtype(self.first_val().dtype)

    def static(self, dims, what: str) -> list[int]:
        """Dims that must be static here; a symbolic one is unsupported."""
        out = [self.dim(d) for d in dims]
        if not all(isinstance(d, int) for d in out):
            self.fail(f"{what} {out} must be static")
        return out

    # --- constants, casts and promotion -----------------------------------------------------
    def const(self, data, dt: DType | str, name: str = "const") -> Param:
        """A module param holding data; scalars are shared by value."""
        arr = np.asarray(data).astype(dtype(dt).numpy)
        key = (arr.dtype.str, arr.tobytes()) if arr.ndim == 0 else None
        if key in self._consts:
            return self._consts[key]
        p = self.b.param(name, arr)
        if key is not None:
            self._consts[key] = p
        return p

    def cast(self, x, dt: DType | str):
        dt = dtype(dt)
        return x if x.type.dtype == dt else self.op("cast", x, dtype=dt)

    def tensor(self, x, dt: DType | str):
        """x as an IR operand of dtype dt: values are cast, Python numbers become constants."""
        return self.cast(x, dt) if is_tensor(x) else self.const(x, dt)

    def result_type(self, a, b) -> DType:
        """torch's type promotion for a binary op on these operands."""
        return ir_dtype(torch.result_type(_proxy(a), _proxy(b)))

    def like(self, x, ref) -> Any:
        """x (value or number) as an operand of ref's dtype."""
        return self.tensor(x, ref.type.dtype)


def _proxy(x):
    """A stand-in for torch.result_type: only dtype and zero-dim-ness matter to promotion."""
    if is_tensor(x):
        t: TensorType = x.type
        return torch.empty(() if t.rank == 0 else (1,), dtype=torch_dtype(t.dtype))
    return x
