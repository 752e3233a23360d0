"""SpQR-style quantization (NumPy only): small groups of low-bit codes whose scales and zero points are
themselves 3-bit codes (with a float grid per 16 groups), plus the ~1% of weights the grid fits worst
kept apart, as exact float corrections in a CSR side table.

A weight [N, K]: codes packed like ir/quantization.pack; the per-group scale and offset codes packed
the same way as [2, N, words] (0: scales, 1: offsets), their grids [2, N, supergroups, 2] (step, low);
outliers CSR (values, cols, row pointers) hold w - dequantized at their positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError
from .quantization import BITS, WeightScheme, group_grid, nearest_codes, pack, unpack

_SCHEME = re.compile(r"w(?P<bits>\d+)(?:g(?P<group>\d+))?-spqr")
STAT_BITS = 3  # bits of a quantized scale or zero point
SUPERGROUP = 16  # groups sharing one float grid for their scale and zero codes
OUTLIERS = 0.01  # the fraction of weights kept exact


@dataclass(frozen=True)
class SpQRScheme:
    bits: int
    group: int = 16

    def __post_init__(self):
        WeightScheme(self.bits, self.group)  # validates bits and group
        if self.bits not in BITS or self.group == 0:
            raise KernforgeError(f"w{self.bits}g{self.group}-spqr needs small groups (e.g. w3-spqr: groups of 16)")

    def __str__(self) -> str:
        return f"w{self.bits}g{self.group}-spqr"

    @staticmethod
    def parse(text: str) -> SpQRScheme | None:
        """'w3-spqr' (groups of 16) or 'w3g32-spqr'; None for any other scheme family."""
        m = _SCHEME.fullmatch(text.strip())
        return None if m is None else SpQRScheme(int(m["bits"]), int(m["group"] or 16))


@dataclass(frozen=True)
class SpQRWeight:
    words: np.ndarray  # [N, words_per_row(bits, K)] uint32
    stat_codes: np.ndarray  # [2, N, words_per_row(3, groups)] uint32
    stat_grid: np.ndarray  # [2, N, supergroups, 2] float32: step, low
    values: np.ndarray  # [nnz] float32 corrections
    cols: np.ndarray  # [nnz] int32
    ptr: np.ndarray  # [N + 1] int32
    scheme: SpQRScheme
    in_features: int

    def dequantize(self) -> np.ndarray:
        return spqr_dequantize(self.words, self.stat_codes, self.stat_grid, self.values, self.cols, self.ptr,
                               self.scheme.bits, self.scheme.group, self.in_features)

    def bits_per_weight(self) -> float:
        arrays = (self.words, self.stat_codes, self.stat_grid, self.values, self.cols, self.ptr)
        return 8 * sum(a.nbytes for a in arrays) / (self.words.shape[0] * self.in_features)


def decode_stats(stat_codes: np.ndarray, stat_grid: np.ndarray, groups: int) -> np.ndarray:
    """[2, N, groups] float64 scales and offsets: code * step + low of the group's supergroup."""
    codes = np.stack([unpack(c, STAT_BITS, groups) for c in stat_codes]).astype(np.float64)
    grid = np.repeat(stat_grid.astype(np.float64), SUPERGROUP, axis=2)[:, :, :groups]
    return codes * grid[..., 0] + grid[..., 1]


def spqr_dequantize(words, stat_codes, stat_grid, values, cols, ptr, bits: int, group: int,
                    in_features: int) -> np.ndarray:
    """[N, K] float32: the grid's values plus the outlier corrections."""
    n, groups = words.shape[0], in_features // group
    scale, offset = decode_stats(stat_codes, stat_grid, groups)
    codes = unpack(words, bits, in_features).astype(np.float64).reshape(n, groups, group)
    w = (codes * scale[..., None] + offset[..., None]).reshape(n, in_features)
    w[np.repeat(np.arange(n), np.diff(ptr)), cols] += values
    return w.astype(np.float32)


def _quantize_stats(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, 3-bit codes of v [N, groups] on a min..max grid per SUPERGROUP groups."""
    n, groups = v.shape
    padded = np.concatenate([v, np.repeat(v[:, -1:], -groups % SUPERGROUP, axis=1)], axis=1)
    sg = padded.reshape(n, -1, SUPERGROUP)
    low, high = sg.min(axis=-1), sg.max(axis=-1)
    step = np.where(high > low, (high - low) / ((1 << STAT_BITS) - 1), 1.0)
    codes = np.clip(np.rint((sg - low[..., None]) / step[..., None]), 0, (1 << STAT_BITS) - 1)
    return codes.reshape(n, -1)[:, :groups].astype(np.uint32), np.stack([step, low], axis=-1).astype(np.float32)


def fit_spqr(w: np.ndarray, scheme: SpQRScheme, outliers: float = OUTLIERS) -> SpQRWeight:
    """Round to nearest on each group's grid (its scale and zero quantized first), then keep the
    `outliers` fraction of weights with the largest remaining error as exact corrections."""
    n, k = w.shape
    g = scheme.group
    if k % g:
        raise KernforgeError(f"{k} inputs do not split into groups of {g}")
    groups = w.astype(np.float64).reshape(n, k // g, g)
    scale, offset = group_grid(groups, WeightScheme(scheme.bits, 0))
    codes_grids = [_quantize_stats(v.astype(np.float64)) for v in (scale, offset)]
    stat_codes = np.stack([pack(c, STAT_BITS) for c, _ in codes_grids])
    stat_grid = np.stack([grid for _, grid in codes_grids])
    qscale, qoffset = decode_stats(stat_codes, stat_grid, k // g)
    codes = nearest_codes(groups, qscale[..., None], qoffset[..., None], scheme.bits)
    err = (w - (codes * qscale[..., None] + qoffset[..., None]).reshape(n, k)).astype(np.float32)
    keep = np.zeros(n * k, bool)
    keep[np.argsort(-np.abs(err).ravel(), kind="stable")[:int(round(outliers * n * k))]] = True
    rows, cols = np.nonzero(keep.reshape(n, k))
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int32)
    return SpQRWeight(pack(codes.reshape(n, k), scheme.bits), stat_codes, stat_grid, err[rows, cols],
                      cols.astype(np.int32), ptr, scheme, k)


def add_params(module, name: str, q: SpQRWeight) -> list:
    """Module params of a SpQR weight: the codes (typed #spqr), stat codes and grids, the outlier CSR."""
    from .encodings import SpQREncoding
    from .types import TensorType, dtype

    enc = SpQREncoding(bits=q.scheme.bits, group=q.scheme.group, outliers="csr")
    words = module.add_param(f"{name}_{q.scheme.bits}b", q.words, TensorType(q.words.shape, dtype("u32"), encoding=enc))
    rest = [("stat_codes", q.stat_codes), ("stat_grid", q.stat_grid), ("outliers", q.values),
            ("outlier_cols", q.cols), ("outlier_ptr", q.ptr)]
    return [words, *(module.add_param(f"{name}_{what}", a) for what, a in rest)]
