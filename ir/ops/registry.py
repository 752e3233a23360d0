"""The op registry: each op declares operands, an attribute schema, type inference, a NumPy
reference, a fusion kind and a FLOP count. Everything else dispatches through `get_op`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidAttributeError, TypeInferenceError, UnknownOpError
from ..types import DType, TensorType, dtype

ELEMWISE, BROADCAST, INJECTIVE = "elemwise", "broadcast", "injective"
REDUCE, OUT_FUSABLE, OPAQUE = "reduce", "out_fusable", "opaque"
FUSION_KINDS = (ELEMWISE, BROADCAST, INJECTIVE, REDUCE, OUT_FUSABLE, OPAQUE)

REQUIRED = object()
_ATTR_KINDS = ("int", "float", "bool", "str", "ints", "floats", "strs", "dtype", "int_or_ints")


@dataclass(frozen=True)
class Attr:
    """Schema of one attribute: kind, default (REQUIRED if none) and allowed choices."""

    kind: str
    default: Any = REQUIRED
    choices: tuple | None = None

    def __post_init__(self):
        assert self.kind in _ATTR_KINDS, self.kind


def _coerce(kind: str, v: Any) -> Any:
    """Normalize an attribute value to its canonical Python form, or raise ValueError."""
    if v is None:
        return None
    if kind == "int" and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if kind == "float" and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return float(v)
    if kind == "bool" and isinstance(v, (bool, np.bool_)):
        return bool(v)
    if kind == "str" and isinstance(v, str):
        return v
    if kind == "dtype" and isinstance(v, (str, DType, np.dtype, type)):
        return dtype(v)
    if kind in ("ints", "floats", "strs") and isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_coerce(kind[:-1], x) for x in v)
    if kind == "int_or_ints":
        return _coerce("ints" if isinstance(v, (list, tuple, np.ndarray)) else "int", v)
    raise ValueError(f"expected {kind}, got {v!r}")


@dataclass
class OpDef:
    """Everything kernforge knows about one op, independent of any backend."""

    name: str
    operands: tuple[str, ...]  # "x", optional "bias?", variadic last "inputs*"
    attrs: dict[str, Attr]
    fusion: str
    infer: Callable[..., Any]
    reference: Callable[..., Any]
    flops: Callable[[list[TensorType], list[TensorType], dict], int] | None = None
    has_region: bool = False
    doc: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def arity(self) -> tuple[int, float]:
        """(minimum, maximum) number of operands."""
        required = sum(1 for o in self.operands if not o.endswith(("?", "*")))
        variadic = any(o.endswith("*") for o in self.operands)
        return required, (float("inf") if variadic else len(self.operands))

    def check_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Validate attributes against the schema; fill defaults. Returns a new dict."""
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise InvalidAttributeError(
                f"{self.name}: unknown attribute(s) {sorted(unknown)}; accepted: {sorted(self.attrs)}")
        out = {}
        for name, spec in self.attrs.items():
            if name not in attrs:
                if spec.default is REQUIRED:
                    raise InvalidAttributeError(f"{self.name}: missing required attribute '{name}'")
                out[name] = spec.default
                continue
            try:
                out[name] = _coerce(spec.kind, attrs[name])
            except ValueError as e:
                raise InvalidAttributeError(f"{self.name}: attribute '{name}': {e}") from None
            if spec.choices is not None and out[name] not in spec.choices:
                raise InvalidAttributeError(
                    f"{self.name}: attribute '{name}' = {out[name]!r} is not one of {list(spec.choices)}")
        return out

    def check_arity(self, n: int) -> None:
        lo, hi = self.arity
        if not lo <= n <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise TypeInferenceError(f"{self.name}: expected {want} operands, got {n}")

    def infer_types(self, operand_types: list[TensorType], attrs: dict, region=None) -> list[TensorType]:
        """Result types for these operands and (already checked) attributes."""
        self.check_arity(len(operand_types))
        kwargs = dict(attrs, region=region) if self.has_region else attrs
        try:
            out = self.infer(*operand_types, **kwargs)
        except TypeInferenceError as e:
            if str(e).startswith(f"{self.name}:"):
                raise
            raise TypeInferenceError(f"{self.name}: {e}") from None
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def evaluate(self, arrays: list[np.ndarray], attrs: dict, region=None) -> list[np.ndarray]:
        """Run the NumPy reference."""
        kwargs = dict(attrs, region=region) if self.has_region else attrs
        out = self.reference(*arrays, **kwargs)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def count_flops(self, operand_types, result_types, attrs) -> int:
        if self.flops is not None:
            return int(self.flops(operand_types, result_types, attrs))
        # Default: one operation per output element (right for elementwise and most shape ops).
        return sum(t.numel for t in result_types) if self.fusion != INJECTIVE else 0


OPS: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.name in OPS:
        raise ValueError(f"op {opdef.name} registered twice")
    assert opdef.fusion in FUSION_KINDS, opdef.fusion
    OPS[opdef.name] = opdef
    return opdef


def op(name: str, *, operands: str, fusion: str, attrs: dict[str, Attr] | None = None,
       has_region: bool = False):
    """Class decorator: the class body supplies infer, reference and optionally flops."""

    def wrap(cls):
        register(OpDef(
            name=name, operands=tuple(s.strip() for s in operands.split(",") if s.strip()),
            attrs=dict(attrs or {}), fusion=fusion, infer=cls.infer, reference=cls.reference,
            flops=getattr(cls, "flops", None), has_region=has_region, doc=(cls.__doc__ or "").strip()))
        return cls

    return wrap


def get_op(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise UnknownOpError(f"unknown op '{name}'") from None
