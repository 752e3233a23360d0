"""GPTQ (Frantar et al., 2022): quantize a weight column by column and spread each column's rounding
error over the columns not yet quantized, weighted by the inverse Hessian of the layer's inputs
(H = X^T X over calibration inputs X), so that the layer's outputs on those inputs move least."""

from __future__ import annotations

import numpy as np

from .quantization import QuantizedWeight, WeightScheme, group_grid, group_size, nearest_codes, pack

DAMPING = 0.01  # of the mean Hessian diagonal, added to it: keeps the inverse well conditioned


def input_hessian(inputs: list[np.ndarray]) -> np.ndarray:
    """X^T X of a layer's inputs (any leading dims; the last is K), in float64."""
    x = np.concatenate([np.asarray(a, np.float64).reshape(-1, a.shape[-1]) for a in inputs])
    return x.T @ x


def quantize_gptq(w: np.ndarray, hessian: np.ndarray, scheme: WeightScheme) -> QuantizedWeight:
    """w [N, K] quantized against H [K, K]; group grids are set from the error-updated columns."""
    n, k = w.shape
    g = group_size(scheme, k)
    w = w.astype(np.float64).copy()
    h = hessian.astype(np.float64).copy()
    dead = np.diag(h) == 0  # inputs that are always zero: their weights do not matter
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h[np.diag_indices(k)] += DAMPING * np.mean(np.diag(h))
    hinv = np.linalg.cholesky(np.linalg.inv(h)).T  # upper factor of H^-1
    codes = np.zeros((n, k), np.uint32)
    scales, offsets = np.zeros((n, k // g), np.float32), np.zeros((n, k // g), np.float32)
    for start in range(0, k, g):  # one block per group: its errors flow on lazily, block by block
        stop = start + g
        block, errors = w[:, start:stop].copy(), np.zeros((n, g))
        scale, offset = group_grid(block, scheme)
        scales[:, start // g], offsets[:, start // g] = scale, offset
        s64, o64 = scale.astype(np.float64), offset.astype(np.float64)
        inv = hinv[start:stop, start:stop]
        for i in range(g):
            col = block[:, i]
            codes[:, start + i] = c = nearest_codes(col, s64, o64, scheme.bits)
            errors[:, i] = (col - (c * s64 + o64)) / inv[i, i]
            block[:, i:] -= np.outer(errors[:, i], inv[i, i:])
        w[:, stop:] -= errors @ hinv[start:stop, stop:]
    return QuantizedWeight(pack(codes, scheme.bits), scales, offsets, scheme, k)
