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
from .flat_rows import flat_index, unflat_index
from .nm_gemm import nm_gemm, nm_gemm_applies, packed_values, value_pack
from .nm_quant_gemv import nm_gemv_lanes, nm_quant_gemv
from .registry import lowering, lowering_target

# Input rows (the product of x's dims other than the axis) from which the column form runs: 4096^2 2:4
# on a znver3 target, the column form took 14-56 ms at 3-6 rows, the row form 0.7-5.2 ms.
COLUMN_FORM_ROWS = 8


def _blocked(t, o, i):
    """Entry i of output row o in a row-blocked tensor (ir/sparse_formats.py): [o // 8, i * 8 + o % 8]."""
    return t[tirx.floordiv(o, LANES), i * LANES + tirx.floormod(o, LANES)]


def field(words, bits: int):
    """field(o, f): the f-th bits-wide field of row o in row-blocked words (sparse_formats.pack_fields)."""
    per, mask = 32 // bits, tirx.const((1 << bits) - 1, "uint32")

    def at(o, f):
        shift = (tirx.floormod(f, per) * bits).astype("uint32")
        return tirx.bitwise_and(tirx.shift_right(_blocked(words, o, tirx.floordiv(f, per)), shift), mask)

    return at


def plain_values(values):
    return lambda o, f: _blocked(values, o, f)


def quantized_values(codes, scales, offsets, bits: int, group: int):
    """value(o, f) = code * scale + offset of f's group: decoded in registers like the positions."""
    code = field(codes, bits)
    return lambda o, f: (code(o, f).astype("float32") * _blocked(scales, o, tirx.floordiv(f, group))
                         + _blocked(offsets, o, tirx.floordiv(f, group)))


def _pick(load, g, bit, m: int, k: int):
    """load(k) at k = g * m + position, as a tree of selects on the position's bits, bit(b) (a lane-wise
    choice among the group's m inputs); positions past the input's end hold zero weights, so any
    input serves there."""
    at = lambda t: load(tirx.min(g * m + t, k - 1))

    def tree(t0: int, b: int):
        if b < 0:
            return at(t0)
        if t0 + (1 << b) >= m:  # the upper half holds no position of the group
            return tree(t0, b - 1)
        return tirx.Select(bit(b), tree(t0 + (1 << b), b - 1), tree(t0, b - 1))

    return tree(0, index_bits(m) - 1)


def position_bit(index_words, m: int):
    """bit(o, f, b): whether bit b of entry f's position is set, tested on the sign bit of the index
    word shifted left (a vector blend reads the sign bit, so the field needs no shift-and-mask)."""
    bits = index_bits(m)
    per = 32 // bits

    def bit(o, f, b):
        shift = (31 - tirx.floormod(f, per) * bits - b).astype("uint32")
        # reinterpret, not a cast: TVM's simplifier takes a cast of an unsigned value as never negative
        return tirx.reinterpret("int32", tirx.shift_left(_blocked(index_words, o, tirx.floordiv(f, per)), shift)) < 0

    return bit


def _row_form(x, value, bit, a: int, attrs, k: int):
    """y[.., o, ..] via part[.., o // 8, j, o % 8]: per lane of 8 rows, the j-th kept weight of each group."""
    n, m, outputs = attrs["n"], attrs["m"], attrs["outputs"]
    outer = [int(d) for i, d in enumerate(x.shape) if i != a]
    xat = lambda i, kk: x[(*i[:a], kk, *i[a:])]
    g = te.reduce_axis((0, -(-k // m)), name="g")

    def dot(*i):
        o, f = i[-3] * LANES + i[-1], g * n + i[-2]
        pick = _pick(lambda kk: xat(i[:-3], kk), g, lambda b: bit(o, f, b), m, k)
        return te.sum(value(o, f) * pick, axis=g)

    part = te.compute((*outer, -(-outputs // LANES), n, LANES), dot, name="nm_part",
                      attrs={"nm_quantized": int(attrs.get("bits") is not None)})
    rows = lambda i, o: sum(part[(*i, tirx.floordiv(o, LANES), j, tirx.floormod(o, LANES))] for j in range(n))
    return te.compute((*outer[:a], outputs, *outer[a:]), lambda *i: rows((*i[:a], *i[a + 1:]), i[a]), name="nm_rows")


def panel_width(columns: int) -> int:
    """Columns per panel: 4, 2 or 1 vectors of 8, or 1 when none divides them."""
    return next((w for w in (4 * LANES, 2 * LANES, LANES) if columns % w == 0), 1)


def _column_form(read, lead: int, columns: int, value, position, attrs, k: int):
    """nm_columns[l, o, p] = sum over kept entries of value * x[l, g * m + position, p], where read(l,
    k, p) reads x as [lead, K, columns]. x is first copied into panels [lead, columns / w, K, w], so that
    the rows a group's positions pick lie w floats apart in cache, not a whole row of x."""
    n, m = attrs["n"], attrs["m"]
    w = panel_width(columns)
    panel = te.compute((lead, columns // w, k, w), lambda l_, pp, kk, t: read(l_, kk, pp * w + t), name="nm_x_panel")
    g, j = te.reduce_axis((0, -(-k // m)), name="g"), te.reduce_axis((0, n), name="j")

    def dot(l_, o, p):
        f = g * n + j
        kk = tirx.min(g * m + position(o, f), k - 1)
        return te.sum(value(o, f) * panel[l_, tirx.floordiv(p, w), kk, tirx.floormod(p, w)], axis=[g, j])

    return te.compute((lead, attrs["outputs"], columns), dot, name="nm_columns", attrs={"nm_m": m, "nm_panel": w})


def _takes_gemm(x_shape, attrs) -> bool:
    """Whether the layer takes the lookup GEMM (nm_gemm.py) on the target being lowered for."""
    dims = [int(d) for d in x_shape]
    return attrs["axis"] % len(dims) == len(dims) - 1 and nm_gemm_applies(
        lowering_target(), math.prod(dims[:-1]), dims[-1], attrs["outputs"], attrs)


def _gemm_values(types, attrs, results=None, computed=frozenset()):
    """Plain values of GEMMs the lookup kernel computes, in 16-row blocks."""
    if 1 in computed or not _takes_gemm(types[0].shape, attrs):
        return {}
    return {1: value_pack(attrs["outputs"], -(-int(types[0].shape[-1]) // attrs["m"]) * attrs["n"])}


@lowering("nm_linear", rule="nm_linear", prepack=_gemm_values)
def _nm_linear(ins, attrs, out_types):
    x, values, index_words, *bias = ins
    laid_out = packed_values(values)
    if laid_out is not None:  # _gemm_values chose the lookup kernel
        return nm_gemm(x, index_words, [laid_out], bias, attrs)
    return _nm(x, plain_values(values), index_words, bias, attrs)


@lowering("nm_quant_linear", rule="nm_linear")
def _nm_quant_linear(ins, attrs, out_types):
    x, codes, index_words, scales, offsets, *bias = ins
    if _takes_gemm(x.shape, attrs):
        return nm_gemm(x, index_words, [codes, scales, offsets], bias, attrs)
    k = int(x.shape[attrs["axis"] % len(x.shape)])
    target, rows = lowering_target(), math.prod(int(d) for d in x.shape[:-1])
    last = attrs["axis"] % len(x.shape) == len(x.shape) - 1
    lanes = nm_gemv_lanes(target, rows, k, attrs["outputs"], attrs) if last else None
    if lanes:
        return nm_quant_gemv(x, codes, index_words, scales, offsets, bias, attrs, lanes)
    group = attrs["group"] or -(-k // attrs["m"]) * attrs["n"]
    return _nm(x, quantized_values(codes, scales, offsets, attrs["bits"], group), index_words, bias, attrs)


def _nm(x, value, index_words, bias, attrs):
    """The row or column form by the input's shape, then the bias."""
    position = lambda o, f: field(index_words, index_bits(attrs["m"]))(o, f).astype("int32")
    dims = [int(d) for d in x.shape]
    a = attrs["axis"] % len(dims)
    k, lead, trail = dims[a], dims[:a], dims[a + 1:]
    if math.prod(lead + trail) < COLUMN_FORM_ROWS:
        y = _row_form(x, value, position_bit(index_words, attrs["m"]), a, attrs, k)
    elif trail:
        read = lambda l_, kk, p: x[(*unflat_index(l_, lead), kk, *unflat_index(p, trail))]
        yc = _column_form(read, math.prod(lead), math.prod(trail), value, position, attrs, k)
        y = te.compute((*lead, attrs["outputs"], *trail),
                       lambda *i: yc[flat_index(i[:a], lead), i[a], flat_index(i[a + 1:], trail)], name="nm_out")
    else:  # a dense layer over many rows: the rows become the columns, [outputs, rows] transposed out
        read = lambda l_, kk, p: x[(*unflat_index(p, lead), kk)]
        yc = _column_form(read, 1, math.prod(lead), value, position, attrs, k)
        y = te.compute((*lead, attrs["outputs"]), lambda *i: yc[0, i[-1], flat_index(i[:-1], lead)], name="nm_out")
    if not bias:
        return y
    return te.compute([int(d) for d in y.shape], lambda *i: y(*i) + bias[0][i[a]], name="nm_bias")
