"""ONNX op converters, one module per op family; importing this package registers them all."""

from . import (  # noqa: F401  (imported for registration)
    activation,
    control,
    conv,
    elementwise,
    indexing,
    layout,
    linalg,
    ml,
    norm,
    quant,
    recurrent,
    reduction,
    shape,
    spectral,
)
from .registry import CONVERTERS, LATEST, OLDEST, converter, find

__all__ = ["CONVERTERS", "LATEST", "OLDEST", "converter", "find"]
