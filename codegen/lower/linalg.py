"""TE computes for matmul, dense, gemm, einsum and matmul_integer: one reduction block (the kernel's
anchor, scheduled by the "gemm" rule) plus small epilogue blocks for bias, alpha/beta and casts."""

from __future__ import annotations

from tvm import te, tirx

from ...ir.ops.linalg import _einsum_dims, _parse_einsum
from .layouts import PANEL, PANEL_T, PANEL_WIDTH, panel_source
from .registry import lowering


def acc_dtype(dt: str) -> str:
    """Half-precision floats accumulate in float32, as the references (and real kernels) do."""
    return "float32" if dt in ("float16", "bfloat16") else dt


def is_one(d) -> bool:
    return isinstance(d, (int, tirx.IntImm)) and int(d) == 1


def bcast_read(t: te.Tensor, idx):
    """t at the trailing entries of idx, its size-1 dims pinned to 0 (NumPy broadcasting)."""
    idx = list(idx)[len(idx) - len(t.shape):]
    return t(*[0 if is_one(d) else i for d, i in zip(t.shape, idx)])


def expr_dtype(e) -> str:
    """A scalar expression's dtype (TVM 0.27: `.ty` on PrimExprs, `.dtype` on tensor slices)."""
    return str(e.dtype if isinstance(e, te.TensorSlice) else e.ty)


def widen(e, dt: str):
    return e if expr_dtype(e) == dt else e.astype(dt)


def contract(shape, k_extent: int, a_at, b_at, acc: str, name: str) -> te.Tensor:
    """out[i] = sum_k a_at(i, k) * b_at(i, k) in the accumulation dtype acc."""
    k = te.reduce_axis((0, k_extent), "k")
    return te.compute(shape, lambda *i: te.sum(widen(a_at(i, k), acc) * widen(b_at(i, k), acc), axis=k), name=name)


def contract_b(shape, k_extent: int, a_at, b: te.Tensor, b_at, acc: str, name: str) -> te.Tensor:
    """contract, but when b arrives as zero-padded panels and N is no multiple of their width, over
    the padded N (its extra columns are the pack's zeros), then cut back: no predicate in the tile."""
    packed = panel_source(b)
    if packed is None or int(shape[-1]) % PANEL_WIDTH == 0:
        return contract(shape, k_extent, a_at, b_at, acc, name)
    w = PANEL_WIDTH
    wide = contract([*shape[:-1], int(packed.shape[0]) * w], k_extent, a_at,
                    lambda i, k: packed[i[-1] // w, k, i[-1] % w], acc, name)
    return te.compute(shape, lambda *i: wide(*i), name=f"{name}_cut")


def finish(t: te.Tensor, dt: str) -> te.Tensor:
    """Cast an accumulator back to the result dtype (a no-op when they agree)."""
    return t if str(t.dtype) == dt else te.compute(t.shape, lambda *i: t(*i).astype(dt), name=f"{t.op.name}_cast")


def _b_panel(types, attrs, results=None, computed=frozenset()):
    """A 2-D weight on the right is packed into 16-column panels, whatever its orientation."""
    b = types[1]
    return {1: PANEL_T if attrs.get("trans_b") else PANEL} if b.rank == 2 else {}


def _dense_panel(types, attrs, results=None, computed=frozenset()):
    return {1: PANEL_T}


@lowering("matmul", rule="gemm", prepack=_b_panel)
def _matmul(ins, attrs, out_types):
    a, b = ins
    ra, rb, dt = len(a.shape), len(b.shape), str(a.dtype)
    shape = list(out_types[0].shape)
    nb = len(shape) - (ra > 1) - (rb > 1)  # broadcast batch dims of the result
    a_at = lambda i, k: bcast_read(a, (*i[:nb], *i[nb:nb + (ra > 1)], k))
    b_at = lambda i, k: bcast_read(b, (*i[:nb], k, *i[len(i) - (rb > 1):]))
    return finish(contract_b(shape, int(a.shape[-1]), a_at, b, b_at, acc_dtype(dt), "matmul"), dt)


@lowering("dense", rule="gemm", prepack=_dense_panel)
def _dense(ins, attrs, out_types):
    x, w = ins[:2]
    dt, shape = str(x.dtype), list(out_types[0].shape)
    acc = acc_dtype(dt)
    y = contract_b(shape, int(x.shape[-1]), lambda i, k: x(*i[:-1], k), w, lambda i, k: w[i[-1], k], acc, "dense")
    if len(ins) > 2:
        bias = ins[2]
        y = te.compute(shape, lambda *i: y(*i) + widen(bias[i[-1]], acc), name="bias_add")
    return finish(y, dt)


@lowering("gemm", rule="gemm", prepack=_b_panel)
def _gemm(ins, attrs, out_types):
    a, b = ins[:2]
    dt, shape = str(a.dtype), list(out_types[0].shape)
    acc = acc_dtype(dt)
    ta, tb = attrs["trans_a"], attrs["trans_b"]
    a_at = lambda i, k: a[k, i[0]] if ta else a[i[0], k]
    b_at = lambda i, k: b[i[1], k] if tb else b[k, i[1]]
    y = contract_b(shape, int(a.shape[0] if ta else a.shape[1]), a_at, b, b_at, acc, "gemm")
    alpha, beta = tirx.const(attrs["alpha"], acc), tirx.const(attrs["beta"], acc)
    if len(ins) > 2:
        c = ins[2]
        y = te.compute(shape, lambda *i: alpha * y(*i) + beta * widen(bcast_read(c, i), acc), name="gemm_epilogue")
    elif attrs["alpha"] != 1.0:
        y = te.compute(shape, lambda *i: alpha * y(*i), name="gemm_alpha")
    return finish(y, dt)


@lowering("matmul_integer", rule="gemm")
def _matmul_integer(ins, attrs, out_types):
    a, b = ins[:2]
    az, bz = (ins + [None, None])[2:4]
    ra, rb = len(a.shape), len(b.shape)
    shape = list(out_types[0].shape)
    nb = len(shape) - (ra > 1) - (rb > 1)

    def a_at(i, k):
        idx = (*i[:nb], *i[nb:nb + (ra > 1)], k)
        v = widen(bcast_read(a, idx), "int32")
        return v if az is None else v - widen(_row_zero(az, idx), "int32")

    def b_at(i, k):
        idx = (*i[:nb], k, *i[len(i) - (rb > 1):])
        v = widen(bcast_read(b, idx), "int32")
        return v if bz is None else v - widen(bcast_read(bz, idx), "int32")

    return contract(shape, int(a.shape[-1]), a_at, b_at, "int32", "matmul_integer")


def _row_zero(az: te.Tensor, idx):
    """a's zero point: a scalar, one per row ([M], as the reference reshapes it to [M, 1]) or [..., M, 1]."""
    if len(az.shape) == 1:
        return az[0] if is_one(az.shape[0]) else az[idx[-2]]
    return bcast_read(az, idx)


@lowering("einsum", rule="gemm")
def _einsum(ins, attrs, out_types):
    """A product over all labels; the labels missing from the output are reduced."""
    types = [_Shape(t.shape) for t in ins]
    terms, rhs = _parse_einsum(attrs["equation"], len(ins))
    sizes, ell = _einsum_dims(terms, types)
    ell_labels = [f"_{i}" for i in range(len(ell))]
    out_labels = _expand(rhs, ell_labels)
    reduced = [c for c in sizes if c not in out_labels]
    dt = str(ins[0].dtype)
    acc = acc_dtype(dt)
    axes = {c: te.reduce_axis((0, int(sizes[c])), f"r_{c}") for c in reduced}

    def body(*i):
        env = {**dict(zip(out_labels, i)), **axes}
        prod = None
        for t, term in zip(ins, terms):
            labels = _expand(term, ell_labels[len(ell_labels) - (len(t.shape) - len(term.replace("...", ""))):])
            v = widen(t(*[0 if is_one(d) and lb.startswith("_") else env[lb] for lb, d in zip(labels, t.shape)]), acc)
            prod = v if prod is None else prod * v
        return te.sum(prod, axis=list(axes.values())) if axes else prod

    return finish(te.compute(list(out_types[0].shape), body, name="einsum"), dt)


def _expand(term: str, ell_labels: list[str]) -> list[str]:
    """A term's labels, its '...' replaced by the (trailing) ellipsis labels."""
    head, dots, tail = term.partition("...")
    return list(head) + (ell_labels if dots else []) + list(tail)


class _Shape:
    """The shape-only stand-in for a TensorType that the IR's einsum helpers read."""

    def __init__(self, shape):
        self.shape = tuple(int(d) for d in shape)
        self.rank = len(self.shape)
