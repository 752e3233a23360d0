"""TE lowering of bsr_linear and csr_linear: hand-written TIR (the row pointers make the loop bounds
data-dependent), one kernel for both since CSR is BSR with 1 x 1 blocks.

x is read as [lead, K, columns] (a dense layer's rows become the columns through a transpose stage;
a 1x1 conv's pixels are its columns). Each parallel task takes one block row; per tile of columns,
an unrolled chunk of the block's rows keeps its accumulators in registers while the loop walks the
row's blocks: a weight is broadcast, a vector of x's columns loaded, and each is used several times.
"""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from .flat_rows import flat_index, unflat_index
from .registry import lowering
from .tir_kernel import local, per_core

VECTOR_REGISTERS = 12  # accumulator vectors per chunk of rows: AVX2 has 16, the rest hold x and weights


def tile_width(columns: int) -> int:
    """Columns per tile: up to 4 vectors of 8, the widest that divides the columns."""
    return next(w for w in (32, 16, 8, 4, 2, 1) if columns % w == 0)


def _walk(ins, out, shape, k_: int, block):
    """The TIR body: y[l, o, p] = sum over the block row's blocks of W[o, k] * x[l, k, p] (+ bias[o]),
    x and y read and written as [lead, K or outputs, columns] through views of their data."""
    values, indices, indptr, x, *bias = ins
    lead, outputs, columns = shape
    r, c = block
    block_rows = int(indptr.shape[0]) - 1
    width = tile_width(columns)
    chunk = max(1, min(r, VECTOR_REGISTERS // max(1, width // 8)))
    val, idx, ptr = T.buffer_proxy(values), T.buffer_proxy(indices), T.buffer_proxy(indptr)
    weight = (lambda j, i, k: val[j]) if len(values.shape) == 1 else (lambda j, i, k: val[j, i, k])
    offset = (lambda o: T.buffer_proxy(bias[0])[o]) if bias else (lambda o: tirx.const(0, "float32"))
    def task_body(task, acc):
        # views (DeclBuffer) of x and y; declared inside the loop, since a declaration needs a frame
        xs = T.buffer_proxy(T.decl_buffer([lead, k_, columns], "float32", data=x.data))
        ys = T.buffer_proxy(T.decl_buffer([lead, outputs, columns], "float32", data=out.data))
        l_, br = task // block_rows, task % block_rows
        with T.serial(0, columns // width) as tile:
            for first in range(0, r, chunk):
                rows = min(chunk, r - first)
                with T.unroll(0, rows) as i:
                    with T.vectorized(0, width) as t:
                        acc[i, t] = tirx.const(0, "float32")
                with T.serial(ptr[br], ptr[br + 1]) as j:
                    with T.serial(0, c) as k:
                        col = idx[j] * c + k
                        with T.unroll(0, rows) as i:
                            with T.vectorized(0, width) as t:
                                acc[i, t] = acc[i, t] + weight(j, first + i, k) * xs[l_, col, tile * width + t]
                with T.unroll(0, rows) as i:
                    o = br * r + first + i
                    with T.If(o < outputs):
                        with T.Then():
                            with T.vectorized(0, width) as t:
                                ys[l_, o, tile * width + t] = acc[i, t] + offset(o)
    return per_core(lead * block_rows, lambda: local([chunk, width]), task_body)


def _walk_outputs(ins, out, rows: int, k_: int, outputs: int, r: int):
    """The TIR body for R x 1 blocks in a dense layer: lanes along a block's R outputs, so y [rows,
    outputs] is written in place; per task a block row and a tile of input rows, whose x values are
    broadcast against the block's R weights."""
    values, indices, indptr, x, *bias = ins
    block_rows = int(indptr.shape[0]) - 1
    tile = next(t for t in range(max(1, VECTOR_REGISTERS // (r // 8)), 0, -1) if rows % t == 0)
    val, idx, ptr = T.buffer_proxy(values), T.buffer_proxy(indices), T.buffer_proxy(indptr)
    offset = (lambda o: T.buffer_proxy(bias[0])[o]) if bias else (lambda o: tirx.const(0, "float32"))
    def task_body(task, acc):
        xs = T.buffer_proxy(T.decl_buffer([rows, k_], "float32", data=x.data))
        ys = T.buffer_proxy(T.decl_buffer([rows, outputs], "float32", data=out.data))
        br, first = task // (rows // tile), task % (rows // tile) * tile
        with T.unroll(0, tile) as q:
            with T.vectorized(0, r) as i:
                acc[q, i] = tirx.const(0, "float32")
        with T.serial(ptr[br], ptr[br + 1]) as j:
            with T.unroll(0, tile) as q:
                xv = xs[first + q, idx[j]]
                with T.vectorized(0, r) as i:
                    acc[q, i] = acc[q, i] + val[j, i, 0] * xv
        with T.unroll(0, tile) as q:
            with T.If(br * r + r <= outputs):
                with T.Then():
                    with T.vectorized(0, r) as i:
                        ys[first + q, br * r + i] = acc[q, i] + offset(br * r + i)
                with T.Else():  # the last block row, cut by the weight's edge
                    with T.serial(0, outputs - br * r) as i:
                        ys[first + q, br * r + i] = acc[q, i] + offset(br * r + i)
    return per_core(block_rows * (rows // tile), lambda: local([tile, r]), task_body)


@lowering("bsr_linear", "csr_linear", rule="opaque")
def _compressed_rows(ins, attrs, out_types):
    x, values, indices, indptr, *bias = ins
    dims = [int(d) for d in x.shape]
    a = attrs["axis"] % len(dims)
    k, lead, trail, outputs = dims[a], dims[:a], dims[a + 1:], attrs["outputs"]
    block = tuple(int(d) for d in values.shape[1:]) or (1, 1)
    if trail:  # x is [lead.., K, trail..] and y [lead.., outputs, trail..]: walked in place
        shape = (math.prod(lead), outputs, math.prod(trail))
        return te.extern([(*lead, outputs, *trail)], [values, indices, indptr, x, *bias],
                         lambda i, o: _walk(i, o[0], shape, k, block), dtype=["float32"], name="compressed_rows")
    rows = math.prod(lead)
    if block[1] == 1 and block[0] % 8 == 0:  # R x 1 blocks: vectors along the outputs, y in place
        return te.extern([(*lead, outputs)], [values, indices, indptr, x, *bias],
                         lambda i, o: _walk_outputs(i, o[0], rows, k, outputs, block[0]), dtype=["float32"],
                         name="compressed_rows")
    # a dense layer: its rows become the columns, in and out
    x3 = te.compute((1, k, math.prod(lead)), lambda l_, kk, p: x[(*unflat_index(p, lead), kk)], name="x_columns")
    shape = (1, outputs, math.prod(lead))
    y3 = te.extern([shape], [values, indices, indptr, x3, *bias], lambda i, o: _walk(i, o[0], shape, k, block),
                   dtype=["float32"], name="compressed_rows")
    return te.compute((*lead, outputs), lambda *i: y3[0, i[-1], flat_index(i[:-1], lead)], name="sparse_out")
