"""All ops. Importing this package registers every op family module."""

from . import (  # noqa: F401  (imported for registration)
    activation,
    attention,
    bitwise,
    conv,
    elementwise,
    fused,
    indexing,
    linalg,
    norm,
    pool,
    quant,
    reduction,
    transform,
    trig,
)
from .registry import (
    BROADCAST,
    ELEMWISE,
    FUSION_KINDS,
    INJECTIVE,
    OPAQUE,
    OPS,
    OUT_FUSABLE,
    REDUCE,
    REQUIRED,
    Attr,
    OpDef,
    get_op,
    op,
    register,
)

__all__ = ["OPS", "OpDef", "Attr", "REQUIRED", "get_op", "op", "register", "FUSION_KINDS",
           "ELEMWISE", "BROADCAST", "INJECTIVE", "REDUCE", "OUT_FUSABLE", "OPAQUE"]
