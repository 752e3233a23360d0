"""Binary-coding quantization (NumPy only), as in ShiftAddLLM: each group of a weight row is a sum of k
binary {-1, +1} vectors with one scale each, w ~= sum_i alpha_i * b_i. A kernel then needs no
multiplies by weights: per plane, sum the inputs whose bit is set, then one scale per group.

Planes are packed like 1-bit codes (ir/quantization.pack; bit 1 means +1), scales are [N, groups, k].
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError
from .quantization import pack, unpack

_SCHEME = re.compile(r"wbcq(?P<planes>\d+)(?:g(?P<group>\d+))?")
REFINE_STEPS = 8  # alternating least-squares rounds after the greedy start (the error stops falling by then)


@dataclass(frozen=True)
class BCQScheme:
    """`planes` binary planes per weight (1 to 4), one scale per plane and group of `group` inputs."""

    planes: int
    group: int = 128

    def __post_init__(self):
        if not 1 <= self.planes <= 4:
            raise KernforgeError(f"binary-coding quantization takes 1 to 4 planes, got {self.planes}")
        if self.group < 0 or self.group % 8:
            raise KernforgeError(f"group {self.group} must be a multiple of 8 (0: one group per row)")

    def __str__(self) -> str:
        return f"wbcq{self.planes}g{self.group}"

    @staticmethod
    def parse(text: str) -> BCQScheme | None:
        """'wbcq3' (group 128) or 'wbcq2g64'; None for any other scheme family."""
        m = _SCHEME.fullmatch(text.strip())
        if m is None:
            return None
        return BCQScheme(int(m["planes"]), 128 if m["group"] is None else int(m["group"]))


@dataclass(frozen=True)
class BCQWeight:
    planes: np.ndarray  # [k, N, words_per_row(1, K)] uint32
    alphas: np.ndarray  # [N, groups, k] float32
    in_features: int

    def dequantize(self) -> np.ndarray:
        return bcq_dequantize(self.planes, self.alphas, self.in_features)


def bcq_dequantize(planes: np.ndarray, alphas: np.ndarray, in_features: int) -> np.ndarray:
    """[N, K] float32: sum over planes of alpha (of the weight's group) times +-1."""
    signs = np.stack([unpack(p, 1, in_features).astype(np.float64) * 2 - 1 for p in planes], axis=-1)
    group = in_features // alphas.shape[1]
    w = (signs * np.repeat(alphas.astype(np.float64), group, axis=1)).sum(axis=-1)
    return w.astype(np.float32)


def _greedy(groups: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Residual binarization: b_i = sign(residual), alpha_i = mean |residual|."""
    r, signs, alphas = groups.copy(), [], []
    for _ in range(k):
        b = np.where(r >= 0, 1.0, -1.0)
        a = np.abs(r).mean(axis=-1, keepdims=True)
        r -= a * b
        signs.append(b)
        alphas.append(a[..., 0])
    return np.stack(signs, axis=-1), np.stack(alphas, axis=-1)


def _refine(groups: np.ndarray, signs: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One alternating round: least-squares scales for the signs, then each weight's best sign pattern."""
    gram = np.einsum("...gi,...gj->...ij", signs, signs) + 1e-9 * np.eye(signs.shape[-1])
    alphas = np.linalg.solve(gram, np.einsum("...gi,...g->...i", signs, groups)[..., None])[..., 0]
    patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=signs.shape[-1])))  # [2^k, k]
    values = np.einsum("pk,...k->...p", patterns, alphas)  # [..., 2^k] levels per group
    best = np.abs(groups[..., None] - values[..., None, :]).argmin(axis=-1)
    return patterns[best], alphas


def fit_bcq(w: np.ndarray, scheme: BCQScheme) -> BCQWeight:
    """Binary codes and scales for w [N, K]: a greedy start, then REFINE_STEPS alternating rounds."""
    n, k = w.shape
    g = scheme.group or k
    if k % g:
        raise KernforgeError(f"{k} inputs do not split into groups of {g}")
    groups = w.astype(np.float64).reshape(n, k // g, g)
    signs, alphas = _greedy(groups, scheme.planes)
    for _ in range(REFINE_STEPS):
        signs, alphas = _refine(groups, signs, alphas)
    bits = (signs > 0).astype(np.uint32).reshape(n, k, scheme.planes)
    planes = np.stack([pack(bits[..., i], 1) for i in range(scheme.planes)])
    return BCQWeight(planes, alphas.astype(np.float32), k)


def add_params(module, name: str, q: BCQWeight, group: int) -> list:
    """Module params of a BCQ weight: the packed planes (typed #bcq) and their scales."""
    from .encodings import BCQEncoding
    from .types import TensorType, dtype

    enc = BCQEncoding(planes=q.planes.shape[0], group=group)
    planes = module.add_param(f"{name}_bcq", q.planes, TensorType(q.planes.shape, dtype("u32"), encoding=enc))
    return [planes, module.add_param(f"{name}_alphas", q.alphas)]
