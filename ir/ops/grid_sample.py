"""GridSample: sample x at the normalized positions of a grid (ONNX GridSample, 2-D and 3-D),
with nearest, linear or cubic interpolation and zeros, border or reflection padding."""

from __future__ import annotations

import itertools

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, need_float, out_type

_CUBIC_A = -0.75


def _unnormalize(n: np.ndarray, size: int, align_corners: bool) -> np.ndarray:
    return (n + 1) / 2 * (size - 1) if align_corners else ((n + 1) * size - 1) / 2


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold x back into [lo, hi] by reflecting at the borders, as often as needed."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, lo)
    below, above = x < lo, x > hi
    dist = np.where(below, lo - x, np.where(above, x - hi, 0))
    k = np.floor(dist / span)
    r = dist - k * span
    even = k % 2 == 0
    from_lo, from_hi = lo + r, hi - r
    return np.where(below, np.where(even, from_lo, from_hi), np.where(above, np.where(even, from_hi, from_lo), x))


def _borders(size: int, align_corners: bool) -> tuple[float, float]:
    return (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)


def _fetch_index(i: np.ndarray, size: int, padding: str, align_corners: bool) -> tuple[np.ndarray, np.ndarray]:
    """(index, valid) for integer sample positions under the padding mode."""
    if padding == "zeros":
        return np.clip(i, 0, size - 1), (i >= 0) & (i < size)
    if padding == "border":
        return np.clip(i, 0, size - 1), np.ones(i.shape, bool)
    lo, hi = _borders(size, align_corners)
    return np.clip(_reflect(i.astype(np.float64), lo, hi).astype(np.int64), 0, size - 1), np.ones(i.shape, bool)


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """Keys cubic convolution weights for the taps at offsets -1, 0, 1, 2 from floor(x)."""
    def near(d):
        return ((_CUBIC_A + 2) * d - (_CUBIC_A + 3)) * d * d + 1

    def far(d):
        return ((_CUBIC_A * d - 5 * _CUBIC_A) * d + 8 * _CUBIC_A) * d - 4 * _CUBIC_A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _taps(x: np.ndarray, mode: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(integer position, weight) pairs along one axis."""
    if mode == "nearest":
        return [(np.rint(x).astype(np.int64), np.ones_like(x))]
    base = np.floor(x)
    t = x - base
    base = base.astype(np.int64)
    if mode == "linear":
        return [(base, 1 - t), (base + 1, t)]
    return [(base + k - 1, w) for k, w in enumerate(_cubic_weights(t))]


def _coords(grid: np.ndarray, dims, mode: str, padding: str, align_corners: bool) -> list[np.ndarray]:
    """Unnormalized source coordinates per spatial axis (the grid lists them last axis first)."""
    out = []
    for axis, size in enumerate(dims):
        x = _unnormalize(grid[..., len(dims) - 1 - axis].astype(np.float64), size, align_corners)
        if mode == "nearest":
            x = np.rint(x)
        lo, hi = _borders(size, align_corners)
        if mode == "cubic":  # as PyTorch and onnxruntime: cubic pads each of its taps instead
            pass
        elif padding == "border":
            x = np.where((x < lo) | (x > hi), np.clip(x, 0, size - 1), x)
        elif padding == "reflection":
            x = _reflect(x, lo, hi)
        out.append(x)
    return out


def grid_sample(x: np.ndarray, grid: np.ndarray, mode: str, padding: str, align_corners: bool) -> np.ndarray:
    """Sum over the interpolation taps (2^k or 4^k corners) of weight * padded sample."""
    n, c, dims = x.shape[0], x.shape[1], x.shape[2:]
    flat = x.reshape(n, c, -1).astype(np.float64)
    strides = [int(np.prod(dims[i + 1:])) for i in range(len(dims))]
    out = np.zeros((n, c) + grid.shape[1:-1])
    per_axis = [_taps(v, mode) for v in _coords(grid, dims, mode, padding, align_corners)]
    for corner in itertools.product(*per_axis):
        index, weight, valid = 0, 1.0, True
        for (pos, w), size, stride in zip(corner, dims, strides):
            idx, ok = _fetch_index(pos, size, padding, align_corners)
            index, weight, valid = index + idx * stride, weight * w, valid & ok
        picked = np.take_along_axis(flat, index.reshape(n, 1, -1), axis=2).reshape(out.shape)
        out += picked * (weight * valid)[:, None]
    return out.astype(x.dtype)


@op("grid_sample", operands="x, grid", fusion=OPAQUE, attrs={
    "mode": Attr("str", "linear", ("linear", "nearest", "cubic")),
    "padding_mode": Attr("str", "zeros", ("zeros", "border", "reflection")),
    "align_corners": Attr("bool", False)})
class GridSample:
    """x: [N, C, *in], grid: [N, *out, k] with k = len(in) coordinates in [-1, 1] -> [N, C, *out]."""

    @staticmethod
    def infer(x, grid, *, mode, padding_mode, align_corners):
        need_float(x)
        k = x.rank - 2
        if k not in (2, 3) or grid.rank != x.rank or grid.shape[-1] not in (k, None):
            fail(f"expected x [N, C, *spatial] with 2 or 3 spatial dims and grid [N, *out, {k}], got {x} and {grid}")
        if mode == "cubic" and k != 2:
            fail("cubic sampling is 2-D only")
        return out_type(x, (x.shape[0], x.shape[1]) + tuple(grid.shape[1:-1]))

    @staticmethod
    def reference(x, grid, *, mode, padding_mode, align_corners):
        return grid_sample(x, grid, mode, padding_mode, align_corners)
