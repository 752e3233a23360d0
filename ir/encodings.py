"""Typed, validated tensor storage encodings: how quantized and sparse weights travel in types.

Text forms: #quant<bits=4, group=128, axis=1, scale=f16, zero=u4>, #spqr<bits=3, group=16,
outliers=csr>, #bcq<planes=3, group=128>, #nm<2:4>, #nm<2:4, bits=4, group=64>, #bsr<16x16>, #csr.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

from ..errors import EncodingError
from .types import DType, dtype

if TYPE_CHECKING:
    from .types import TensorType

ENCODINGS: dict[str, type[Encoding]] = {}


def _register(cls):
    ENCODINGS[cls.mnemonic] = cls
    return cls


class Encoding:
    """Base of all encodings. Subclasses are frozen dataclasses that validate in __post_init__."""

    mnemonic: ClassVar[str]

    def storage_bytes(self, t: TensorType) -> int:
        """Estimated bytes this encoding uses to store tensor t."""
        return (t.numel * t.dtype.bits + 7) // 8

    def body(self) -> str:
        parts = []
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                parts.append(f"{f.name}={v}")
        return ", ".join(parts)

    def __str__(self) -> str:
        body = self.body()
        return f"#{self.mnemonic}<{body}>" if body else f"#{self.mnemonic}"


def _fail(enc: str, msg: str):
    raise EncodingError(f"invalid encoding #{enc}: {msg}")


def _check_bits(enc: str, bits: int, allowed=(1, 2, 3, 4, 8)):
    if bits not in allowed:
        _fail(enc, f"bits={bits} is not one of {list(allowed)}")


def _check_group(enc: str, group: int):
    if group < 0:
        _fail(enc, f"group={group} must be >= 0 (0 means one group per channel)")


@_register
@dataclass(frozen=True)
class QuantEncoding(Encoding):
    """Group-wise integer quantization; zero=None means symmetric."""

    mnemonic: ClassVar[str] = "quant"
    bits: int
    group: int = 0
    axis: int = 1
    scale: DType = dtype("f32")
    zero: DType | None = None

    def __post_init__(self):
        _check_bits("quant", self.bits)
        _check_group("quant", self.group)
        object.__setattr__(self, "scale", _float_dtype("quant", self.scale))
        if self.zero is not None:
            object.__setattr__(self, "zero", dtype(self.zero))

    def storage_bytes(self, t: TensorType) -> int:
        groups = max(1, t.numel // self.group) if self.group else max(1, t.numel // max(1, _last(t)))
        side = groups * (self.scale.bits + (self.zero.bits if self.zero else 0))
        return (t.numel * self.bits + side + 7) // 8


@_register
@dataclass(frozen=True)
class SpQREncoding(Encoding):
    """Small-group quantization with the largest-error weights kept apart in a sparse table."""

    mnemonic: ClassVar[str] = "spqr"
    bits: int
    group: int = 16
    outliers: str = "csr"

    def __post_init__(self):
        _check_bits("spqr", self.bits)
        if self.group <= 0:
            _fail("spqr", f"group={self.group} must be > 0")
        if self.outliers not in ("csr", "coo"):
            _fail("spqr", f"outliers={self.outliers} must be csr or coo")


@_register
@dataclass(frozen=True)
class BCQEncoding(Encoding):
    """Binary-coding quantization: each weight a sum of `planes` scaled +-1 bits, one scale per plane and
    group of `group` inputs (ir/bcq.py); the tensor holds the packed planes."""

    mnemonic: ClassVar[str] = "bcq"
    planes: int
    group: int = 0

    def __post_init__(self):
        if not 1 <= self.planes <= 4:
            _fail("bcq", f"planes={self.planes} is not in 1..4")
        _check_group("bcq", self.group)


@_register
@dataclass(frozen=True)
class NMSparseEncoding(Encoding):
    """N nonzeros in every group of M consecutive weights along the reduction axis; with bits, the kept
    values are integer codes with a scale and offset per `group` kept values (0: per row)."""

    mnemonic: ClassVar[str] = "nm"
    n: int
    m: int
    bits: int | None = None
    group: int | None = None

    def __post_init__(self):
        if not (0 < self.n < self.m):
            _fail("nm", f"{self.n}:{self.m} needs 0 < N < M")
        if self.bits is not None:
            _check_bits("nm", self.bits)
            _check_group("nm", self.group or 0)

    def body(self) -> str:
        quant = f", bits={self.bits}, group={self.group or 0}" if self.bits is not None else ""
        return f"{self.n}:{self.m}{quant}"

    def storage_bytes(self, t: TensorType) -> int:
        kept = t.numel * self.n // self.m
        index_bits = max(1, (self.m - 1).bit_length())
        return (kept * (t.dtype.bits + index_bits) + 7) // 8


@_register
@dataclass(frozen=True)
class BSREncoding(Encoding):
    """Block-sparse rows with dense blocks of rows x cols."""

    mnemonic: ClassVar[str] = "bsr"
    rows: int
    cols: int

    def __post_init__(self):
        if self.rows <= 0 or self.cols <= 0:
            _fail("bsr", f"block {self.rows}x{self.cols} must be positive")

    def body(self) -> str:
        return f"{self.rows}x{self.cols}"


@_register
@dataclass(frozen=True)
class CSREncoding(Encoding):
    """Unstructured sparsity in compressed sparse rows."""

    mnemonic: ClassVar[str] = "csr"

    def body(self) -> str:
        return ""


def _float_dtype(enc: str, d) -> DType:
    d = dtype(d)
    if not d.is_float:
        _fail(enc, f"scale={d} must be a float dtype")
    return d


def _last(t: TensorType) -> int:
    return t.shape[-1] if t.shape and isinstance(t.shape[-1], int) else 1


def make_encoding(mnemonic: str, positional: list, named: dict) -> Encoding:
    """Build an encoding from parsed text parts; raises EncodingError for bad ones."""
    cls = ENCODINGS.get(mnemonic)
    if cls is None:
        raise EncodingError(f"unknown encoding #{mnemonic}; known: {', '.join(ENCODINGS)}")
    try:
        return cls(*positional, **named)
    except TypeError as e:
        raise EncodingError(f"invalid encoding #{mnemonic}: {e}") from None
