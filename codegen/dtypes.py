"""IR dtype names to TVM dtype strings."""

from __future__ import annotations

from ..ir.types import DType

_TVM = {"f32": "float32", "f16": "float16", "bf16": "bfloat16", "f64": "float64",
        "f8e4m3": "float8_e4m3fn", "f8e5m2": "float8_e5m2", "bool": "bool",
        "i1": "int8", "i2": "int8", "i3": "int8", "i4": "int8", "u2": "uint8", "u4": "uint8"}


def tvm_dtype(dt: DType) -> str:
    """TVM's name for an IR dtype. Sub-byte ints live one per byte, as in NumPy (DType.byte_storage):
    TVM would pack int4 two to a byte, which the runtime's arrays do not."""
    if dt.name in _TVM:
        return _TVM[dt.name]
    return ("int" if dt.kind == "int" else "uint") + str(dt.bits)
