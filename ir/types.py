"""Element dtypes and tensor types; sub-byte ints and fp8 map to NumPy through ml_dtypes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import ml_dtypes
import numpy as np

from ..errors import KernforgeError

if TYPE_CHECKING:
    from .encodings import Encoding


@dataclass(frozen=True)
class DType:
    """An element type: its text name, bit width, kind and NumPy storage dtype."""

    name: str
    bits: int
    kind: str  # "float" | "int" | "uint" | "bool"
    storage: str  # NumPy dtype name used to hold values of this type

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(_STORAGE[self.storage])

    @property
    def byte_storage(self) -> np.dtype:
        """A whole-byte NumPy dtype that holds this type's values (sub-byte ints widen to 8 bits)."""
        if self.kind in ("int", "uint") and self.bits < 8:
            return np.dtype(np.int8 if self.kind == "int" else np.uint8)
        return self.numpy

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        return self.kind in ("int", "float")

    @property
    def min(self) -> float:
        if self.kind == "int":
            return -(2 ** (self.bits - 1))
        return 0 if self.kind in ("uint", "bool") else float(_finfo(self).min)

    @property
    def max(self) -> float:
        if self.kind == "int":
            return 2 ** (self.bits - 1) - 1
        if self.kind in ("uint", "bool"):
            return 2**self.bits - 1
        return float(_finfo(self).max)

    def __str__(self) -> str:
        return self.name


def _finfo(dt: DType):
    return ml_dtypes.finfo(dt.numpy)


_STORAGE = {
    "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16,
    "float8_e4m3fn": ml_dtypes.float8_e4m3fn, "float8_e5m2": ml_dtypes.float8_e5m2,
    "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
    "int4": ml_dtypes.int4, "uint4": ml_dtypes.uint4, "int2": ml_dtypes.int2,
    "uint2": ml_dtypes.uint2, "int1": ml_dtypes.int1, "bool": np.bool_,
    "float64": np.float64, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
}

# i3 has no NumPy type of its own: its values live in int8 and the bit width says the range.
_ALL = [
    DType("f32", 32, "float", "float32"), DType("f16", 16, "float", "float16"),
    DType("bf16", 16, "float", "bfloat16"), DType("f8e4m3", 8, "float", "float8_e4m3fn"),
    DType("f8e5m2", 8, "float", "float8_e5m2"), DType("f64", 64, "float", "float64"),
    DType("i64", 64, "int", "int64"), DType("i32", 32, "int", "int32"),
    DType("i16", 16, "int", "int16"), DType("i8", 8, "int", "int8"),
    DType("u64", 64, "uint", "uint64"), DType("u32", 32, "uint", "uint32"),
    DType("u16", 16, "uint", "uint16"), DType("u8", 8, "uint", "uint8"),
    DType("i4", 4, "int", "int4"), DType("u4", 4, "uint", "uint4"),
    DType("i3", 3, "int", "int8"), DType("i2", 2, "int", "int2"), DType("u2", 2, "uint", "uint2"),
    DType("i1", 1, "int", "int1"), DType("bool", 1, "bool", "bool"),
]
DTYPES: dict[str, DType] = {d.name: d for d in _ALL}
_FROM_NUMPY = {d.numpy: d for d in reversed(_ALL)}  # reversed: int8 maps to i8, not i3

f32, f16, bf16, f64 = DTYPES["f32"], DTYPES["f16"], DTYPES["bf16"], DTYPES["f64"]
i64, i32, i8, u8, boolean = DTYPES["i64"], DTYPES["i32"], DTYPES["i8"], DTYPES["u8"], DTYPES["bool"]


def dtype(spec: Union[str, DType, np.dtype, type]) -> DType:
    """Resolve a DType from its text name, a DType, or a NumPy dtype."""
    if isinstance(spec, DType):
        return spec
    if isinstance(spec, str) and spec in DTYPES:
        return DTYPES[spec]
    try:
        np_dt = np.dtype(spec)
    except TypeError:
        np_dt = None
    if np_dt is not None and np_dt in _FROM_NUMPY:
        return _FROM_NUMPY[np_dt]
    raise KernforgeError(f"unknown dtype {spec!r}; known: {', '.join(DTYPES)}")


# A dimension is a static size, a named symbol ("batch" prints as ?batch) or None (unknown, "?").
Dim = Union[int, str, None]


def format_dim(d: Dim) -> str:
    if isinstance(d, int):
        return str(d)
    return "?" if d is None else f"?{d}"


@dataclass(frozen=True)
class TensorType:
    """A tensor's shape, element type, optional layout name and optional storage encoding."""

    shape: tuple[Dim, ...]
    dtype: DType
    layout: str | None = None
    encoding: Encoding | None = None

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(_check_dim(d) for d in self.shape))
        object.__setattr__(self, "dtype", dtype(self.dtype))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def numel(self) -> int:
        """Element count, with every symbolic dim counted as 1."""
        return int(np.prod([d if isinstance(d, int) else 1 for d in self.shape], dtype=np.int64))

    @property
    def nbytes(self) -> int:
        if self.encoding is not None:
            return self.encoding.storage_bytes(self)
        return (self.numel * self.dtype.bits + 7) // 8

    def with_shape(self, shape) -> TensorType:
        return TensorType(tuple(shape), self.dtype, self.layout, self.encoding)

    def with_dtype(self, dt) -> TensorType:
        return TensorType(self.shape, dtype(dt), self.layout, self.encoding)

    def __str__(self) -> str:
        # A symbolic dim is followed by a space so that "?n x4" never reads as the symbol "nx4".
        dims = "".join(format_dim(d) + (" x" if not isinstance(d, int) else "x") for d in self.shape)
        extra = "".join(f", {x}" for x in (self.layout, self.encoding) if x is not None)
        return f"tensor<{dims}{self.dtype.name}{extra}>"


def _check_dim(d) -> Dim:
    if d is None or isinstance(d, str):
        return d
    if isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
        return int(d)
    raise KernforgeError(f"invalid dimension {d!r}: expected a size >= 0, a symbol name or None")


def tensor(shape, dt="f32", layout: str | None = None, encoding=None) -> TensorType:
    """Shorthand constructor: tensor([1, "batch", 3], "f32")."""
    return TensorType(tuple(shape), dtype(dt), layout, encoding)


def type_of(array: np.ndarray) -> TensorType:
    """The TensorType of a concrete NumPy array."""
    return TensorType(tuple(array.shape), dtype(array.dtype))
