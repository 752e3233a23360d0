"""TE compute for nm_linear: N:M sparse weights (ir/sparse_formats.py) whose positions are decoded in
registers, so only the kept n of every m weights are multiplied.

Two forms, by where the vector lanes go:
- rows (few input rows, e.g. a GEMV): lanes are 8 output rows, whose positions differ, so each lane
  picks its input among the group's m with a tree of selects on the position bits (no gathers);
- columns (many input rows): lanes run along the inputs' other axis (a 1x1 conv's pixels, or the
  rows of a dense layer's transposed input); a position is one scalar per weight, a vector load of x.
"""

from __future__ import annotations

import math

from tvm import te, tirx

from ...ir.sparse_formats import LANES, index_bits
from .registry import lowering

# Input rows (the product of x's dims other than the axis) from which the column form runs.
COLUMN_FORM_ROWS = LANES


def _entries(values, index_words, m: int):
    """value(o, f) and position(o, f) of entry f (= g * n + j) of output row o."""
    bits = index_bits(m)
    per, mask = 32 // bits, tirx.const((1 << bits) - 1, "uint32")

    def value(o, f):
        return values[tirx.floordiv(o, LANES), f * LANES + tirx.floormod(o, LANES)]

    def position(o, f):
        word = index_words[tirx.floordiv(o, LANES), tirx.floordiv(f, per) * LANES + tirx.floormod(o, LANES)]
        shift = (tirx.floormod(f, per) * bits).astype("uint32")
        return tirx.bitwise_and(tirx.shift_right(word, shift), mask).astype("int32")

    return value, position


def _pick(load, g, pos, m: int, k: int):
    """load(k) at k = g * m + pos, as a tree of selects on pos's bits (a lane-wise choice among the
    group's m inputs); positions past the input's end hold zero weights, so any input serves there."""
    at = lambda t: load(tirx.min(g * m + t, k - 1))

    def tree(t0: int, bit: int):
        if bit < 0:
            return at(t0)
        if t0 + (1 << bit) >= m:  # the upper half holds no position of the group
            return tree(t0, bit - 1)
        on = tirx.bitwise_and(tirx.shift_right(pos, bit), 1) != 0
        return tirx.Select(on, tree(t0 + (1 << bit), bit - 1), tree(t0, bit - 1))

    return tree(0, index_bits(m) - 1)


def _row_form(x, values, index_words, a: int, attrs, k: int):
    """y[.., o, ..] via part[.., o // 8, j, o % 8]: per lane of 8 rows, the j-th kept weight of each group."""
    n, m, outputs = attrs["n"], attrs["m"], attrs["outputs"]
    value, position = _entries(values, index_words, m)
    outer = [int(d) for i, d in enumerate(x.shape) if i != a]
    xat = lambda i, kk: x[(*i[:a], kk, *i[a:])]
    g = te.reduce_axis((0, -(-k // m)), name="g")

    def dot(*i):
        o, f = i[-3] * LANES + i[-1], g * n + i[-2]
        return te.sum(value(o, f) * _pick(lambda kk: xat(i[:-3], kk), g, position(o, f), m, k), axis=g)

    part = te.compute((*outer, -(-outputs // LANES), n, LANES), dot, name="nm_part")
    rows = lambda i, o: sum(part[(*i, tirx.floordiv(o, LANES), j, tirx.floormod(o, LANES))] for j in range(n))
    return te.compute((*outer[:a], outputs, *outer[a:]), lambda *i: rows((*i[:a], *i[a + 1:]), i[a]), name="nm_rows")


def _flat(idx, dims) -> object:
    return sum(v * math.prod(dims[d + 1:]) for d, v in enumerate(idx)) if dims else 0


def _unflat(r, dims) -> list:
    idx = []
    for d in reversed(dims):
        idx.append(tirx.floormod(r, d))
        r = tirx.floordiv(r, d)
    return list(reversed(idx))


def panel_width(columns: int) -> int:
    """Columns per panel: 4, 2 or 1 vectors of 8, or 1 when none divides them."""
    return next((w for w in (4 * LANES, 2 * LANES, LANES) if columns % w == 0), 1)


def _column_form(read, lead: int, columns: int, values, index_words, attrs, k: int):
    """nm_columns[l, o, p] = sum over kept entries of value * x[l, g * m + position, p], where read(l,
    k, p) reads x as [lead, K, columns]. x is first copied into panels [lead, columns / w, K, w], so that
    the rows a group's positions pick lie w floats apart in cache, not a whole row of x."""
    n, m = attrs["n"], attrs["m"]
    value, position = _entries(values, index_words, m)
    w = panel_width(columns)
    panel = te.compute((lead, columns // w, k, w), lambda l_, pp, kk, t: read(l_, kk, pp * w + t), name="nm_x_panel")
    g, j = te.reduce_axis((0, -(-k // m)), name="g"), te.reduce_axis((0, n), name="j")

    def dot(l_, o, p):
        f = g * n + j
        kk = tirx.min(g * m + position(o, f), k - 1)
        return te.sum(value(o, f) * panel[l_, tirx.floordiv(p, w), kk, tirx.floormod(p, w)], axis=[g, j])

    return te.compute((lead, attrs["outputs"], columns), dot, name="nm_columns", attrs={"nm_m": m, "nm_panel": w})


@lowering("nm_linear", rule="nm_linear")
def _nm_linear(ins, attrs, out_types):
    x, values, index_words, *bias = ins
    dims = [int(d) for d in x.shape]
    a = attrs["axis"] % len(dims)
    k, lead, trail = dims[a], dims[:a], dims[a + 1:]
    if math.prod(lead + trail) < COLUMN_FORM_ROWS:
        y = _row_form(x, values, index_words, a, attrs, k)
    elif math.prod(trail) >= COLUMN_FORM_ROWS or not lead:
        read = lambda l_, kk, p: x[(*_unflat(l_, lead), kk, *_unflat(p, trail))]
        yc = _column_form(read, math.prod(lead), math.prod(trail), values, index_words, attrs, k)
        y = te.compute((*lead, attrs["outputs"], *trail),
                       lambda *i: yc[_flat(i[:a], lead), i[a], _flat(i[a + 1:], trail)], name="nm_out")
    else:  # a dense layer over many rows: the rows become the columns, [outputs, rows] transposed out
        read = lambda l_, kk, p: x[(*_unflat(p, lead), kk)]
        yc = _column_form(read, 1, math.prod(lead), values, index_words, attrs, k)
        y = te.compute((*lead, attrs["outputs"]), lambda *i: yc[0, i[-1], _flat(i[:-1], lead)], name="nm_out")
    if not bias:
        return y
    return te.compute([int(d) for d in y.shape], lambda *i: y(*i) + bias[0][i[a]], name="nm_bias")
