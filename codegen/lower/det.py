"""TE compute for det: LU factorization with partial pivoting in float64 (as LAPACK's getrf under
np.linalg.det), hand-written TIR since pivoting is data-dependent; one parallel task per matrix."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from .registry import lowering

_F64 = "float64"


def _pivot(a, at, k, n: int, det) -> None:
    """Swap into row k the row (from k down) with the largest |a[., k]|; a swap flips det's sign."""
    piv = T.buffer_proxy(T.alloc_local([1], "int32"))
    piv[0] = k
    with T.serial(k + 1, n) as i:
        with T.If(tirx.abs(a[at(i, k)]) > tirx.abs(a[at(piv[0], k)])):
            with T.Then():
                piv[0] = i
    with T.If(piv[0] != k):
        with T.Then():
            det[0] = -det[0]
            with T.serial(k, n) as j:
                tmp = T.buffer_proxy(T.alloc_local([1], _F64))
                tmp[0] = a[at(k, j)]
                a[at(k, j)] = a[at(piv[0], j)]
                a[at(piv[0], j)] = tmp[0]


def _eliminate(a, at, k, n: int) -> None:
    """Subtract multiples of row k from the rows below it (skipped for a zero column: det is 0)."""
    with T.If(a[at(k, k)] != tirx.const(0, _F64)):
        with T.Then():
            with T.serial(k + 1, n) as i:
                with T.serial(k + 1, n) as j:
                    a[at(i, j)] = a[at(i, j)] - a[at(i, k)] / a[at(k, k)] * a[at(k, j)]


def _det_ir(x, out, work, batch: int, n: int):
    with IRBuilder() as ib:
        src, dst, a = T.buffer_proxy(x), T.buffer_proxy(out), T.buffer_proxy(work)
        with T.parallel(0, batch) as b:
            at = lambda i, j: b * (n * n) + i * n + j
            with T.serial(0, n * n) as e:
                a[b * (n * n) + e] = src[b * (n * n) + e].astype(_F64)
            det = T.buffer_proxy(T.alloc_local([1], _F64))
            det[0] = tirx.const(1, _F64)
            with T.serial(0, n) as k:
                _pivot(a, at, k, n, det)
                det[0] = det[0] * a[at(k, k)]
                _eliminate(a, at, k, n)
            dst[b] = det[0].astype(out.dtype)
    return ib.get()


@lowering("det", rule="opaque")
def _det(ins, attrs, out_types):
    (x,) = ins
    dims = [int(d) for d in x.shape]
    batch, n, dt = math.prod(dims[:-2]), dims[-1], str(x.dtype)
    if batch == 0 or n == 0:  # the determinant of a 0 x 0 matrix is 1
        return te.compute(dims[:-2], lambda *i: tirx.const(1, dt), name="det")
    # the LU factors go to a float64 workspace (a second, unused output) rather than the stack
    flat, _ = te.extern([(batch,), (batch, n, n)], [x], lambda i, o: _det_ir(i[0], o[0], o[1], batch, n),
                        dtype=[dt, _F64], name="det_lu")
    return te.compute(dims[:-2], lambda *i: flat(_flat(i, dims[:-2])), name="det")


def _flat(idx, dims):
    flat = tirx.const(0, "int32")
    for i, d in zip(idx, dims):
        flat = flat * d + i
    return flat
