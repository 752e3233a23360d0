"""Shared frame of the hand-written TIR kernels: a parallel loop over cores with buffers allocated once
per core, and the TE around a kernel that takes x [..., K] as [rows, K]."""

from __future__ import annotations

import math
import os
from contextlib import ExitStack

from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from .flat_rows import flat_index, unflat_index
from .registry import lowering_target

F32 = "float32"


def target_cores() -> int:
    """Cores of the target being lowered for (this machine's outside a build)."""
    target = lowering_target()
    return target.cores if target is not None else os.cpu_count() or 1


def per_core(tiles: int, alloc, tile_body, llvm_ir: str | None = None):
    """A parallel loop over the target's cores, each taking its share of tiles in order: scratch =
    alloc() once per core (a buffer inside a parallel loop's iterations is allocated per iteration),
    then tile_body(tile, scratch). llvm_ir: LLVM IR text (functions the body calls) linked in."""
    cores = target_cores()
    share = -(-tiles // cores)
    with IRBuilder() as ib, ExitStack() as scope:
        if llvm_ir:
            scope.enter_context(T.attr(tirx.const(0, "int32"), "pragma_import_llvm", llvm_ir))
        with T.parallel(0, cores) as core:
            scratch = alloc()
            with T.serial(0, share) as i:
                tile = core * share + i
                with T.If(tile < tiles):
                    with T.Then():
                        tile_body(tile, scratch)
    return ib.get()


def local(shape: list[int], dtype: str = F32):
    """A register-sized scratch buffer (allocate it in per_core's alloc)."""
    return T.buffer_proxy(T.alloc_local(shape, dtype))


def rows_extern(x, weights: list, outputs: int, bias, body, name: str, extra=None, columns: int | None = None):
    """y[..., outputs] = body over x as [rows, K] (and extra(x2) tensors) plus bias: the TE around a kernel;
    columns: the kernel's output width where it writes whole blocks past `outputs`."""
    lead, k = [int(d) for d in x.shape[:-1]], int(x.shape[-1])
    rows = math.prod(lead)
    x2 = te.compute((rows, k), lambda p, kk: x[(*unflat_index(p, lead), kk)], name=f"{name}_rows")
    more = extra(x2) if extra else []
    y2 = te.extern([(rows, columns or outputs)], [x2, *more, *weights], lambda i, o: body(i, o[0], rows),
                   dtype=[F32], name=name)
    at = lambda i: y2[flat_index(i[:-1], lead), i[-1]]
    return te.compute((*lead, outputs), (lambda *i: at(i) + bias[0][i[-1]]) if bias else (lambda *i: at(i)),
                      name=f"{name}_out")


def row_tiles(kernel, tiles: int, per: int, rows: int, llvm_ir: str | None = None):
    """per_core over tiles of `per` units of the output, each computed for every row of x by
    kernel.tile(p, first unit) with the buffers kernel.alloc() declares."""
    def tile(t, _):
        with T.serial(0, rows) as p:
            kernel.tile(p, t * per)

    return per_core(tiles, kernel.alloc, tile, llvm_ir)


class LaneVectors:
    """Vector helpers of a kernel class whose accumulators are vectors of self.lanes float32 lanes."""

    lanes: int

    def zeros(self):
        return tirx.Broadcast(tirx.const(0, F32), self.lanes)

    def at(self, i: int):
        """The i-th vector of a flat accumulator buffer."""
        return tirx.Ramp(i * self.lanes, 1, self.lanes)


def packed_view(name: str):
    """A Prepack view for a weight a hand-written kernel reads in its packed layout: a marker compute
    that packed_input recognizes (left out of the PrimFunc: nothing reads it)."""
    return lambda t, shape: te.compute(t.shape, lambda *i: t(*i), name=name)


def packed_input(t: te.Tensor, name: str) -> te.Tensor | None:
    """The packed placeholder behind packed_view(name), or None for any other tensor."""
    return t.op.input_tensors[0] if getattr(t.op, "name", None) == name else None
