"""TE compute for grid_sample: per output point, source coordinates in float64 and a weighted sum
over the interpolation taps (1, 2 or 4 per axis), step by step as the NumPy reference does."""

from __future__ import annotations

import itertools

from tvm import te, tirx

from .registry import lowering

_F64, _I64 = "float64", "int64"
_CUBIC_A = -0.75


def _f(v):
    return tirx.const(v, _F64)


def _borders(size: int, align: bool) -> tuple[float, float]:
    return (0.0, size - 1.0) if align else (-0.5, size - 0.5)


def _reflect(x, lo: float, hi: float):
    """Fold x back into [lo, hi] by reflecting at the borders, as often as needed."""
    span = hi - lo
    if span <= 0:
        return _f(lo)
    below, above = x < _f(lo), x > _f(hi)
    dist = tirx.Select(below, _f(lo) - x, tirx.Select(above, x - _f(hi), _f(0)))
    k = tirx.floor(dist / _f(span))
    r = dist - k * _f(span)
    even = k - _f(2) * tirx.floor(k / _f(2)) == _f(0)
    from_lo, from_hi = _f(lo) + r, _f(hi) - r
    return tirx.Select(below, tirx.Select(even, from_lo, from_hi),
                       tirx.Select(above, tirx.Select(even, from_hi, from_lo), x))


def _coord(g, size: int, mode: str, padding: str, align: bool):
    """The source coordinate of normalized g along an axis of `size`, padded as the mode says."""
    x = (g + _f(1)) / _f(2) * _f(size - 1) if align else ((g + _f(1)) * _f(size) - _f(1)) / _f(2)
    if mode == "nearest":
        x = tirx.nearbyint(x)  # rounds half to even, as np.rint
    lo, hi = _borders(size, align)
    if mode == "cubic":  # as PyTorch and onnxruntime: cubic pads each of its taps instead
        return x
    if padding == "border":
        clipped = tirx.min(tirx.max(x, _f(0)), _f(size - 1))
        return tirx.Select(tirx.any(x < _f(lo), x > _f(hi)), clipped, x)
    return _reflect(x, lo, hi) if padding == "reflection" else x


def _cubic_weights(t) -> list:
    """Keys cubic convolution weights for the taps at offsets -1, 0, 1, 2 from floor(x)."""
    a = _CUBIC_A
    near = lambda d: ((_f(a + 2) * d - _f(a + 3)) * d * d + _f(1))
    far = lambda d: (((_f(a) * d - _f(5 * a)) * d + _f(8 * a)) * d - _f(4 * a))
    return [far(t + _f(1)), near(t), near(_f(1) - t), far(_f(2) - t)]


def _taps(x, mode: str) -> list:
    """(integer position, weight) pairs along one axis."""
    if mode == "nearest":
        return [(x.astype(_I64), _f(1))]
    base = tirx.floor(x)
    t, base = x - base, base.astype(_I64)
    if mode == "linear":
        return [(base, _f(1) - t), (base + 1, t)]
    return [(base + (k - 1), w) for k, w in enumerate(_cubic_weights(t))]


def _fetch(i, size: int, padding: str, align: bool):
    """(index, valid) for an integer sample position under the padding mode."""
    clip = lambda v: tirx.min(tirx.max(v, tirx.const(0, _I64)), tirx.const(size - 1, _I64))
    if padding == "zeros":
        return clip(i), tirx.all(i >= 0, i < size)
    if padding == "border":
        return clip(i), tirx.const(True, "bool")
    return clip(_reflect(i.astype(_F64), *_borders(size, align)).astype(_I64)), tirx.const(True, "bool")


def _select(j, exprs: list):
    """exprs[j] for a loop variable j."""
    out = exprs[-1]
    for t in range(len(exprs) - 2, -1, -1):
        out = tirx.Select(j == t, exprs[t], out)
    return out


def _axis_taps(grid, ax: int, k: int, size: int, attrs) -> tuple:
    """Tables [N, *out, taps] of each tap's index and weight (0 where zeros padding leaves it out)
    along spatial axis ax. The grid lists the coordinates last axis first."""
    mode, padding, align = attrs["mode"], attrs["padding_mode"], attrs["align_corners"]
    lead = [int(d) for d in grid.shape[:-1]]
    coord = te.compute(lead, lambda *p: _coord(grid(*p, k - 1 - ax).astype(_F64), size, mode, padding, align),
                       name=f"grid_sample_coord{ax}")
    ntaps = {"nearest": 1, "linear": 2, "cubic": 4}[mode]

    def taps(p):
        return [(_fetch(pos, size, padding, align), w) for pos, w in _taps(coord(*p[:-1]), mode)]

    # two tables, not one two-output compute: s_tir's loop_partition crashes on two-output blocks
    index = te.compute(lead + [ntaps], lambda *p: _select(p[-1], [i for (i, _), _ in taps(p)]),
                       name=f"grid_sample_index{ax}")
    weight = te.compute(lead + [ntaps], lambda *p: _select(p[-1], [w * ok.astype(_F64) for (_, ok), w in taps(p)]),
                        name=f"grid_sample_weight{ax}")
    return index, weight


@lowering("grid_sample", rule="opaque")
def _grid_sample(ins, attrs, out_types):
    """Coordinates and taps go to small tables first (kept: the opaque rule does not inline them), so
    that the sum over up to 16 corners reads them instead of repeating their arithmetic."""
    x, grid = ins
    dims = [int(d) for d in x.shape[2:]]
    tables = [_axis_taps(grid, ax, len(dims), size, attrs) for ax, size in enumerate(dims)]

    def body(n, c, *o):
        acc = _f(0)
        for corner in itertools.product(*[range(int(index.shape[-1])) for index, _ in tables]):
            weight = _f(1)
            for (_, w), j in zip(tables, corner):
                weight = weight * w(n, *o, j)
            acc = acc + x(n, c, *[index(n, *o, j) for (index, _), j in zip(tables, corner)]).astype(_F64) * weight
        return acc.astype(x.dtype)

    return te.compute(out_types[0].shape, body, name="grid_sample")
