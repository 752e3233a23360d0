"""kernforge's graph IR: types, graph, ops, text format, verifier and interpreter.

Importing this package never imports TVM or torch.
"""

from . import ops  # noqa: F401  (registers every op)
from .builder import Builder, FunctionBuilder, region
from .encodings import BSREncoding, CSREncoding, Encoding, NMSparseEncoding, QuantEncoding, SpQREncoding
from .graph import Function, Module, Node, Param, Value
from .interpreter import interpret
from .printer import print_module
from .types import DTYPES, DType, TensorType, dtype, tensor
from .verifier import verify

__all__ = [
    "Builder", "FunctionBuilder", "region", "Encoding", "QuantEncoding", "SpQREncoding",
    "NMSparseEncoding", "BSREncoding", "CSREncoding", "Function", "Module", "Node", "Param",
    "Value", "interpret", "parse_module", "print_module", "DTYPES", "DType", "TensorType",
    "dtype", "tensor", "verify",
]


def parse_module(text: str, source: str = "<input>") -> Module:
    """Parse IR text into a Module (lark-based; errors give line:column)."""
    from .parser import parse_module as _parse

    return _parse(text, source)
