"""Compressed storage of sparse weights (NumPy only): N:M, block-sparse rows (BSR) and CSR.

A weight is [N outputs, K inputs]; each format packs it and unpacks it back exactly.
- N:M: in every group of M consecutive inputs of a row, N values and their positions in the group.
  values [ceil(N/8), G*n*8] float32 and index words [ceil(N/8), W*8] uint32 hold rows in blocks of 8
  interleaved lanes (row r = 8 * block + lane), so one vector load gives 8 rows' entries. Entry
  f = g * n + j of a row (j-th kept input of group g) is values[block, f * 8 + lane]; its position
  in the group sits in word (f // per) * 8 + lane at bit (f % per) * index_bits, per = 32 // index_bits.
- BSR: dense blocks of R x C; values [blocks, R, C], block column indices [blocks] int32 and block
  row pointers [ceil(N/R) + 1] int32 (scipy's bsr_matrix layout). Edges are zero-padded.
- CSR: values [nnz], column indices [nnz] int32, row pointers [N + 1] int32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError

LANES = 8  # rows interleaved per block of N:M storage: one 8 x 32-bit vector


def index_bits(m: int) -> int:
    """Bits that hold a position in a group of m."""
    return max(1, (m - 1).bit_length())


@dataclass(frozen=True)
class NMWeight:
    values: np.ndarray
    index_words: np.ndarray
    n: int
    m: int
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        return unpack_nm(self.values, self.index_words, self.n, self.m, self.shape)


@dataclass(frozen=True)
class NMQuantWeight:
    """An N:M weight whose kept values are `bits`-bit codes with a scale and offset per `group` entries
    of a row; codes, scales and offsets are row-blocked like the index words."""

    codes: np.ndarray
    index_words: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray
    n: int
    m: int
    bits: int
    group: int
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        return unpack_nm_quant(self.codes, self.index_words, self.scales, self.offsets, self.n, self.m, self.bits,
                               self.group, self.shape)


@dataclass(frozen=True)
class BSRWeight:
    values: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        return unpack_bsr(self.values, self.indices, self.indptr, self.shape)


@dataclass(frozen=True)
class CSRWeight:
    values: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    def dense(self) -> np.ndarray:
        return unpack_csr(self.values, self.indices, self.indptr, self.shape)


def _row_blocks(a: np.ndarray, rows: int) -> np.ndarray:
    """[N, F] -> [ceil(N/8), F * 8] with rows interleaved in blocks of LANES (zero-padded)."""
    padded = np.zeros((-(-rows // LANES) * LANES, a.shape[1]), a.dtype)
    padded[:rows] = a
    return padded.reshape(-1, LANES, a.shape[1]).transpose(0, 2, 1).reshape(padded.shape[0] // LANES, -1)


def row_unblocks(a: np.ndarray, rows: int) -> np.ndarray:
    return a.reshape(a.shape[0], -1, LANES).transpose(0, 2, 1).reshape(-1, a.shape[1] // LANES)[:rows]


def nm_groups(w: np.ndarray, m: int) -> np.ndarray:
    """[N, K] -> [N, ceil(K/m), m], zero-padded along K."""
    n, k = w.shape
    padded = np.zeros((n, -(-k // m) * m), w.dtype)
    padded[:, :k] = w
    return padded.reshape(n, -1, m)


def is_nm(w: np.ndarray, n: int, m: int) -> bool:
    """Whether every group of m consecutive inputs has at most n nonzeros."""
    return bool(((nm_groups(w, m) != 0).sum(axis=-1) <= n).all())


def pack_nm(w: np.ndarray, n: int, m: int) -> NMWeight:
    """Compress a weight with at most n nonzeros per group of m (see is_nm); kept positions ascend."""
    if not is_nm(w, n, m):
        raise KernforgeError(f"the weight has groups of {m} with more than {n} nonzeros; prune it first")
    groups = nm_groups(w, m)
    # the n kept positions: the nonzeros first (stable, so ascending), then zeros to fill up
    pos = np.sort(np.argsort(groups == 0, axis=-1, kind="stable")[..., :n], axis=-1)
    vals = np.take_along_axis(groups, pos, axis=-1).astype(np.float32)
    rows = w.shape[0]
    words = pack_fields(pos.reshape(rows, -1), index_bits(m))
    return NMWeight(_row_blocks(vals.reshape(rows, -1), rows), words, n, m, w.shape)


def pack_fields(fields: np.ndarray, bits: int) -> np.ndarray:
    """[N, F] unsigned fields < 2**bits -> row-blocked words [ceil(N/8), W*8]: field f of row r in word
    (f // per) * 8 + r % 8 of block r // 8, at bit (f % per) * bits, per = 32 // bits."""
    rows, count = fields.shape
    per = 32 // bits
    padded = np.zeros((rows, -(-count // per) * per), np.uint32)
    padded[:, :count] = fields
    shifted = padded.reshape(rows, -1, per) << (np.arange(per, dtype=np.uint32) * bits)
    return _row_blocks(np.bitwise_or.reduce(shifted, axis=-1).astype(np.uint32), rows)


def unpack_fields(words: np.ndarray, bits: int, rows: int, count: int) -> np.ndarray:
    """The inverse of pack_fields: [rows, count] uint32 fields."""
    per = 32 // bits
    plain = row_unblocks(words, rows)
    fields = (plain[..., None] >> (np.arange(per, dtype=np.uint32) * bits)) & np.uint32((1 << bits) - 1)
    return fields.reshape(rows, -1)[:, :count]


def nm_positions(index_words: np.ndarray, n: int, m: int, shape: tuple[int, int]) -> np.ndarray:
    """[N, G, n] positions within each group, decoded from the index words."""
    rows, groups = shape[0], -(-shape[1] // m)
    return unpack_fields(index_words, index_bits(m), rows, groups * n).reshape(rows, groups, n).astype(np.int64)


def unpack_nm(values: np.ndarray, index_words: np.ndarray, n: int, m: int, shape: tuple[int, int]) -> np.ndarray:
    """The dense [N, K] float32 weight."""
    return _scatter_nm(row_unblocks(values, shape[0]), index_words, n, m, shape)


def nm_entries(n: int, m: int, in_features: int) -> int:
    """Kept entries per row."""
    return -(-in_features // m) * n


def quantize_nm(w: NMWeight, scheme) -> NMQuantWeight:
    """The kept values rounded to the nearest level of their group's grid (a quantization.WeightScheme
    whose group counts kept entries of a row, 0: the whole row), codes packed like the index words."""
    from .quantization import group_grid, nearest_codes

    rows, entries = w.shape[0], nm_entries(w.n, w.m, w.shape[1])
    g = scheme.group or entries
    if entries % g:
        raise KernforgeError(f"{entries} kept entries per row do not split into groups of {g}")
    vals = row_unblocks(w.values, rows).astype(np.float64).reshape(rows, entries // g, g)
    scale, offset = group_grid(vals, scheme)
    codes = nearest_codes(vals, scale[..., None].astype(np.float64), offset[..., None].astype(np.float64),
                          scheme.bits)
    return NMQuantWeight(pack_fields(codes.reshape(rows, -1), scheme.bits), w.index_words, _row_blocks(scale, rows),
                         _row_blocks(offset, rows), w.n, w.m, scheme.bits, scheme.group, w.shape)


def unpack_nm_quant(codes, index_words, scales, offsets, n: int, m: int, bits: int, group: int,
                    shape: tuple[int, int]) -> np.ndarray:
    """The dense [N, K] float32 weight of a quantized N:M weight: code * scale + offset per entry."""
    rows, entries = shape[0], nm_entries(n, m, shape[1])
    g = group or entries
    c = unpack_fields(codes, bits, rows, entries).astype(np.float64).reshape(rows, -1, g)
    vals = c * row_unblocks(scales, rows)[..., None] + row_unblocks(offsets, rows)[..., None]
    return _scatter_nm(vals.reshape(rows, -1).astype(np.float32), index_words, n, m, shape)


def _scatter_nm(vals: np.ndarray, index_words: np.ndarray, n: int, m: int, shape: tuple[int, int]) -> np.ndarray:
    rows, k = shape
    pos = nm_positions(index_words, n, m, shape)
    vals = vals.reshape(pos.shape)
    groups = np.zeros((rows, pos.shape[1], m), np.float32)
    np.put_along_axis(groups, pos, vals, axis=-1)
    return groups.reshape(rows, -1)[:, :k]


def pack_bsr(w: np.ndarray, block: tuple[int, int]) -> BSRWeight:
    """Keep the blocks of w that hold a nonzero."""
    r, c = block
    n, k = w.shape
    padded = np.zeros((-(-n // r) * r, -(-k // c) * c), np.float32)
    padded[:n, :k] = w
    blocks = padded.reshape(padded.shape[0] // r, r, -1, c).transpose(0, 2, 1, 3)
    keep = (blocks != 0).any(axis=(2, 3))
    brow, bcol = np.nonzero(keep)
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32)
    return BSRWeight(np.ascontiguousarray(blocks[brow, bcol]), bcol.astype(np.int32), indptr, (n, k))


def unpack_bsr(values: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    _, r, c = values.shape
    n, k = shape
    out = np.zeros((len(indptr) - 1, r, -(-k // c), c), np.float32)
    brow = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    out[brow, :, indices] = values
    return out.reshape((len(indptr) - 1) * r, -1)[:n, :k]


def pack_csr(w: np.ndarray) -> CSRWeight:
    rows, cols = np.nonzero(w)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=w.shape[0]))]).astype(np.int32)
    return CSRWeight(w[rows, cols].astype(np.float32), cols.astype(np.int32), indptr, w.shape)


def unpack_csr(values: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    out[np.repeat(np.arange(shape[0]), np.diff(indptr)), indices] = values
    return out
