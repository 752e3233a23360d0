"""Weight sparsity schemes (NumPy only): parsing, magnitude pruning, detection, and the cost rule
that keeps a weight dense when its sparse kernel would be slower (ir/sparse_formats.py packs them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError
from .sparse_formats import BSRWeight, CSRWeight, NMQuantWeight, NMWeight, is_nm, nm_groups, pack_bsr, pack_csr, pack_nm

_NM = re.compile(r"(?P<n>\d+):(?P<m>\d+)")
_BSR = re.compile(r"bsr:(?P<r>\d+)x(?P<c>\d+)(?::(?P<s>[0-9.]+))?")
_CSR = re.compile(r"unstructured(?::(?P<s>[0-9.]+))?")
_FORMS = ("N:M (e.g. 2:4), bsr:<R>x<C>[:<sparsity>] (e.g. bsr:16x1:0.8) "
          "or unstructured[:<sparsity>] (e.g. unstructured:0.9)")

# Densities (fraction of nonzeros) above which a sparse kernel no longer beats the dense one, from
# benchmarks/sparsity.py on an AVX2 host: the cost rule keeps such weights dense. N:M kernels for many
# input rows (a GEMM) compete with a dense kernel near the FMA peak: there 2:4 measured 0.9-1.0x,
# 1:4 and 2:8 1.4-1.8x; for few rows (GEMV-like, memory-bound) 2:4 measured 1.8-2x. Targets with a
# faster N:M GEMM say so through passes/target_traits.py.
BREAK_EVEN = {"nm": 0.5, "bsr": 0.5, "csr": 0.3}
NM_MANY_ROWS_BREAK_EVEN = 0.4
# Input rows (the input's size over the contracted axis) from which N:M weights are judged as a GEMM's:
# 4096^2 2:4 on a znver3 target, the row form against dense: 1 row 1.52x, 2 rows 1.04x, 3 rows 0.74x,
# 4 rows 0.88x, 6 rows 0.64x (1:4 at 3 and 6 rows 3.5x and 1.9x).
NM_MANY_ROWS = 3


@dataclass(frozen=True)
class SparsityScheme:
    """kind 'nm' (n of every m inputs), 'bsr' (blocks of block[0] x block[1]) or 'csr'; sparsity is the
    fraction of zeros pruning aims for (bsr, csr), or that detection asks of a weight."""

    kind: str
    n: int = 0
    m: int = 0
    block: tuple[int, int] = (1, 1)
    sparsity: float | None = None

    def __post_init__(self):
        if self.kind == "nm" and not 0 < self.n < self.m:
            raise KernforgeError(f"sparsity {self.n}:{self.m} needs 0 < N < M")
        if self.kind == "bsr" and min(self.block) < 1:
            raise KernforgeError(f"block {self.block[0]}x{self.block[1]} must be at least 1x1")
        if self.sparsity is not None and not 0 <= self.sparsity < 1:
            raise KernforgeError(f"sparsity {self.sparsity} must be in [0, 1)")

    def __str__(self) -> str:
        tail = "" if self.sparsity is None else f":{self.sparsity:g}"
        if self.kind == "nm":
            return f"{self.n}:{self.m}"
        return (f"bsr:{self.block[0]}x{self.block[1]}" if self.kind == "bsr" else "unstructured") + tail

    @staticmethod
    def parse(text: str) -> SparsityScheme:
        t = text.strip()
        if m := _NM.fullmatch(t):
            return SparsityScheme("nm", int(m["n"]), int(m["m"]))
        if m := _BSR.fullmatch(t):
            return SparsityScheme("bsr", block=(int(m["r"]), int(m["c"])), sparsity=_fraction(m["s"], t))
        if m := _CSR.fullmatch(t):
            return SparsityScheme("csr", sparsity=_fraction(m["s"], t))
        raise KernforgeError(f"unknown sparsity scheme '{text}'; expected {_FORMS}")


def _fraction(s: str | None, text: str) -> float | None:
    try:
        return None if s is None else float(s)
    except ValueError:
        raise KernforgeError(f"sparsity scheme '{text}': '{s}' is not a number") from None


def prune_nm(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep the n largest-magnitude weights of every group of m consecutive inputs."""
    groups = nm_groups(w, m)
    drop = np.argsort(-np.abs(groups), axis=-1, kind="stable")[..., n:]
    np.put_along_axis(groups, drop, 0, axis=-1)
    return groups.reshape(w.shape[0], -1)[:, :w.shape[1]].copy()


def _count(sparsity: float, total: int) -> int:
    """How many of total to zero so that at least the fraction `sparsity` is zero."""
    return min(total, int(np.ceil(sparsity * total - 1e-9)))


def prune_blocks(w: np.ndarray, block: tuple[int, int], sparsity: float) -> np.ndarray:
    """Zero the fraction `sparsity` of r x c blocks with the smallest L2 norms (edge blocks padded)."""
    r, c = block
    n, k = w.shape
    padded = np.zeros((-(-n // r) * r, -(-k // c) * c), w.dtype)
    padded[:n, :k] = w
    blocks = padded.reshape(padded.shape[0] // r, r, -1, c)
    norms = np.sqrt((blocks.astype(np.float64) ** 2).sum(axis=(1, 3))).ravel()
    drop = np.argsort(norms, kind="stable")[:_count(sparsity, norms.size)]
    keep = np.ones(norms.size, bool)
    keep[drop] = False
    blocks = blocks * keep.reshape(blocks.shape[0], 1, -1, 1)
    return blocks.reshape(padded.shape)[:n, :k].copy()


def prune_unstructured(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the fraction `sparsity` of weights with the smallest magnitudes."""
    out = w.copy().ravel()
    out[np.argsort(np.abs(out), kind="stable")[:_count(sparsity, out.size)]] = 0
    return out.reshape(w.shape)


def density(w: np.ndarray) -> float:
    return float(np.count_nonzero(w)) / max(1, w.size)


def prune(w: np.ndarray, scheme: SparsityScheme) -> np.ndarray:
    """Magnitude pruning to the scheme's pattern."""
    if scheme.kind == "nm":
        return prune_nm(w, scheme.n, scheme.m)
    if scheme.sparsity is None:
        raise KernforgeError(f"pruning to {scheme} needs a target sparsity, e.g. {scheme}:0.8")
    if scheme.kind == "bsr":
        return prune_blocks(w, scheme.block, scheme.sparsity)
    return prune_unstructured(w, scheme.sparsity)


def fits(w: np.ndarray, scheme: SparsityScheme) -> bool:
    """Whether w already has the scheme's pattern (detection): N:M groups, or enough zeros."""
    if scheme.kind == "nm":
        return is_nm(w, scheme.n, scheme.m)
    zeros = 1 - stored_density(w, scheme)
    return zeros > 0 and zeros >= (scheme.sparsity or 0)


def stored_density(w: np.ndarray, scheme: SparsityScheme) -> float:
    """The fraction of the weight the kernel computes with: n/m, kept blocks, or nonzeros."""
    if scheme.kind == "nm":
        return scheme.n / scheme.m
    if scheme.kind == "bsr":
        r, c = scheme.block
        total = -(-w.shape[0] // r) * -(-w.shape[1] // c)
        return len(pack_bsr(w, scheme.block).indices) / total
    return density(w)


def break_even(scheme: SparsityScheme, rows: int | None) -> float:
    """The density above which the scheme's kernel is slower than dense, for `rows` input rows
    (None: unknown, taken as many)."""
    if scheme.kind == "nm" and (rows is None or rows >= NM_MANY_ROWS):
        return NM_MANY_ROWS_BREAK_EVEN
    return BREAK_EVEN[scheme.kind]


def pays_off(w: np.ndarray, scheme: SparsityScheme, rows: int | None = 1) -> bool:
    """The cost rule: sparse only at or below the break-even density."""
    return stored_density(w, scheme) <= break_even(scheme, rows)


def pack(w: np.ndarray, scheme: SparsityScheme) -> NMWeight | BSRWeight | CSRWeight:
    if scheme.kind == "nm":
        return pack_nm(w, scheme.n, scheme.m)
    return pack_bsr(w, scheme.block) if scheme.kind == "bsr" else pack_csr(w)


def add_params(module, name: str, packed: NMWeight | NMQuantWeight | BSRWeight | CSRWeight) -> list:
    """Module params of a packed weight, its values typed with the format's encoding (#nm, #bsr, #csr);
    for a quantized N:M weight: codes, scales and offsets (it shares the index words of its N:M weight)."""
    from .encodings import BSREncoding, CSREncoding, NMSparseEncoding
    from .types import TensorType, type_of

    if isinstance(packed, NMQuantWeight):
        enc = NMSparseEncoding(packed.n, packed.m, packed.bits, packed.group)
        ct = TensorType(packed.codes.shape, type_of(packed.codes).dtype, encoding=enc)
        return [module.add_param(f"{name}_nm{packed.bits}b", packed.codes, ct),
                *(module.add_param(f"{name}_{what}", a) for what, a in
                  (("scales", packed.scales), ("offsets", packed.offsets)))]
    if isinstance(packed, NMWeight):
        enc, arrays = NMSparseEncoding(packed.n, packed.m), [("index_words", packed.index_words)]
    elif isinstance(packed, BSRWeight):
        enc = BSREncoding(*packed.values.shape[1:])
        arrays = [("indices", packed.indices), ("indptr", packed.indptr)]
    else:
        enc, arrays = CSREncoding(), [("indices", packed.indices), ("indptr", packed.indptr)]
    vt = type_of(packed.values)
    values = module.add_param(f"{name}_{str(enc)[1:].split('<')[0]}", packed.values,
                              TensorType(vt.shape, vt.dtype, encoding=enc))
    return [values, *(module.add_param(f"{name}_{what}", a) for what, a in arrays)]
