"""TE compute for max_unpool: zeros, then each value written at its flat MaxPool index (hand-written
TIR: a scatter, applied in order so that a repeated index keeps the last value, as in NumPy)."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from ...ir.ops.unpool import unpooled_shape
from .registry import lowering


def _target(flat, block: list[int], out: list[int]):
    """The flat output position of flat index `flat` into the unpooled block, which sits at the origin
    of the (possibly larger) output. A negative index counts from the end; out-of-range ones are clamped."""
    size = math.prod(block)
    flat = flat.astype("int64")
    flat = tirx.Select(flat < 0, flat + size, flat)
    flat = tirx.min(tirx.max(flat, tirx.const(0, "int64")), tirx.const(size - 1, "int64"))
    pos, stride = tirx.const(0, "int64"), 1
    for b, o in zip(reversed(block), reversed(out)):
        pos, flat, stride = pos + tirx.floormod(flat, b) * stride, tirx.floordiv(flat, b), stride * o
    return pos


def _unpool_ir(x, ind, out, block: list[int]):
    dims = [int(d) for d in out.shape]
    with IRBuilder() as zero:
        dst = T.buffer_proxy(out)
        with T.parallel(0, math.prod(dims)) as p:
            dst[p] = tirx.const(0, out.dtype)
    with IRBuilder() as scatter:
        src, idx, dst = T.buffer_proxy(x), T.buffer_proxy(ind), T.buffer_proxy(out)
        with T.serial(0, math.prod(int(d) for d in x.shape)) as e:
            dst[_target(idx[e], block, dims)] = src[e]
    return tirx.SeqStmt([zero.get(), scatter.get()])


@lowering("max_unpool", rule="opaque")
def _max_unpool(ins, attrs, out_types):
    x, ind = ins
    k = len(attrs["kernel_shape"])
    block = unpooled_shape([int(d) for d in x.shape], attrs["kernel_shape"], attrs["strides"] or [1] * k,
                           attrs["pads"] or [0] * (2 * k))
    shape = [int(d) for d in out_types[0].shape]
    if math.prod(shape) == 0 or math.prod(block) == 0 or any(int(d) == 0 for d in x.shape):
        return te.compute(shape, lambda *i: tirx.const(0, x.dtype), name="max_unpool")
    return te.extern([shape], [x, ind], lambda i, o: _unpool_ir(i[0], i[1], o[0], block), dtype=str(x.dtype),
                     name="max_unpool")
