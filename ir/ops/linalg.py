"""Linear algebra: matmul (NumPy semantics), dense (torch Linear), gemm (ONNX Gemm), einsum and
integer matmul (ONNX MatMulInteger)."""

from __future__ import annotations

import numpy as np

from ..types import Dim, TensorType, i32
from .numerics import upcast
from .registry import OPAQUE, OUT_FUSABLE, Attr, op
from .shape_utils import broadcast_shapes, fail, need_rank, out_type, same_dtype


def same_dim(a: Dim, b: Dim, what: str) -> Dim:
    """Unify two dims that must be equal; only two different static sizes are an error."""
    if isinstance(a, int) and isinstance(b, int) and a != b:
        fail(f"{what}: {a} != {b}")
    return a if isinstance(a, int) or b is None else b


def matmul_shape(a: tuple, b: tuple) -> tuple[tuple, Dim]:
    """NumPy matmul result shape and the contracted size K (1-D operands are promoted, then
    their added dim is removed)."""
    if not a or not b:
        fail("operands must have rank >= 1")
    a2, b2 = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    k = same_dim(a2[-1], b2[-2], f"contracted dims of {list(a)} and {list(b)} differ")
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    m, n = (a2[-2],) if len(a) > 1 else (), (b2[-1],) if len(b) > 1 else ()
    return (*batch, *m, *n), k


def size_or_one(d: Dim) -> int:
    """A static size, or 1 for a symbolic dim (as TensorType.numel counts them)."""
    return d if isinstance(d, int) else 1


def present(*types: TensorType | None) -> list[TensorType]:
    """The operands that were given (optional ones may be None)."""
    return [t for t in types if t is not None]


def matmul_flops(operand_types, result_types, attrs) -> int:
    """Two flops (multiply, add) per output element per contracted element."""
    _, k = matmul_shape(operand_types[0].shape, operand_types[1].shape)
    return 2 * result_types[0].numel * size_or_one(k)


@op("matmul", operands="a, b", fusion=OUT_FUSABLE)
class MatMul:
    """Matrix product with NumPy/ONNX MatMul semantics: batched, broadcast, 1-D operands."""

    @staticmethod
    def infer(a, b):
        same_dtype(a, b)
        return out_type(a, matmul_shape(a.shape, b.shape)[0])

    @staticmethod
    def reference(a, b):
        return np.matmul(upcast(a), upcast(b)).astype(a.dtype)

    flops = staticmethod(matmul_flops)


@op("dense", operands="x, w, bias?", fusion=OUT_FUSABLE)
class Dense:
    """x @ w.T + bias with w shaped [N, K], like torch.nn.Linear."""

    @staticmethod
    def infer(x, w, bias=None):
        same_dtype(*present(x, w, bias))
        need_rank(w, 2, "weight")
        if x.rank < 1:
            fail("input must have rank >= 1")
        same_dim(x.shape[-1], w.shape[1], "input features and weight columns differ")
        if bias is not None:
            need_rank(bias, 1, "bias")
            same_dim(bias.shape[0], w.shape[0], "bias size and weight rows differ")
        return out_type(x, (*x.shape[:-1], w.shape[0]))

    @staticmethod
    def reference(x, w, bias=None):
        y = np.matmul(upcast(x), upcast(w).T)
        return (y if bias is None else y + upcast(bias)).astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 2 * result_types[0].numel * size_or_one(operand_types[1].shape[1])


@op("gemm", operands="a, b, c?", fusion=OUT_FUSABLE,
    attrs={"alpha": Attr("float", 1.0), "beta": Attr("float", 1.0),
           "trans_a": Attr("bool", False), "trans_b": Attr("bool", False)})
class Gemm:
    """ONNX Gemm: alpha * op(a) @ op(b) + beta * c, c unidirectionally broadcast to [M, N]."""

    @staticmethod
    def infer(a, b, c=None, *, alpha, beta, trans_a, trans_b):
        same_dtype(*present(a, b, c))
        need_rank(a, 2, "a")
        need_rank(b, 2, "b")
        (m, ka), (kb, n) = a.shape[::-1] if trans_a else a.shape, b.shape[::-1] if trans_b else b.shape
        same_dim(ka, kb, "contracted dims differ")
        if c is not None and c.rank > 2:
            fail(f"c must have rank <= 2, got {c}")
        for d, want in zip(c.shape[::-1] if c is not None else (), (n, m)):
            if d != 1:
                same_dim(d, want, "c does not broadcast to the [M, N] result")
        return out_type(a, (m, n))

    @staticmethod
    def reference(a, b, c=None, *, alpha, beta, trans_a, trans_b):
        y = alpha * ((upcast(a).T if trans_a else upcast(a)) @ (upcast(b).T if trans_b else upcast(b)))
        return (y if c is None else y + beta * upcast(c)).astype(a.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        a = operand_types[0].shape
        return 2 * result_types[0].numel * size_or_one(a[0] if attrs["trans_a"] else a[1])


def _parse_einsum(equation: str, n_inputs: int) -> tuple[list[str], str]:
    """Input terms and the output term; the implicit output is NumPy's (ellipsis, then the
    labels used once, sorted)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != n_inputs:
        fail(f"equation '{equation}' has {len(terms)} input terms for {n_inputs} operands")
    for t in [*terms, rhs]:
        if not all(c.isalpha() for c in t.replace("...", "")) or t.count("...") > 1:
            fail(f"malformed einsum term '{t}' in '{equation}'")
    if not arrow:
        labels = lhs.replace("...", "").replace(",", "")
        rhs = "..." * ("..." in lhs) + "".join(sorted(c for c in set(labels) if labels.count(c) == 1))
    return terms, rhs


def _einsum_dims(terms: list[str], types: list[TensorType]) -> tuple[dict[str, Dim], tuple]:
    """Size of each label and the broadcast shape of the ellipsis dims."""
    sizes: dict[str, Dim] = {}
    ell: list[tuple] = []
    for term, t in zip(terms, types):
        head, dots, tail = term.partition("...")
        n_ell = t.rank - len(head) - len(tail)
        if n_ell < 0 or (n_ell and not dots):
            fail(f"term '{term}' does not match operand of rank {t.rank}")
        ell.append(t.shape[len(head):len(head) + n_ell])
        for label, d in zip(head + tail, t.shape[:len(head)] + t.shape[len(head) + n_ell:]):
            sizes[label] = same_dim(sizes.get(label, d), d, f"label '{label}' has different sizes")
    return sizes, broadcast_shapes(*ell)


@op("einsum", operands="inputs*", fusion=OPAQUE, attrs={"equation": Attr("str")})
class Einsum:
    """Einstein summation with NumPy/ONNX semantics, including '...' and implicit output."""

    @staticmethod
    def infer(*inputs, equation):
        if not inputs:
            fail("needs at least one operand")
        same_dtype(*inputs)
        terms, rhs = _parse_einsum(equation, len(inputs))
        sizes, ell = _einsum_dims(terms, list(inputs))
        unknown = set(rhs.replace("...", "")) - set(sizes)
        if unknown or len(set(rhs.replace("...", ""))) != len(rhs.replace("...", "")):
            fail(f"bad output term '{rhs}' in '{equation}'")
        head, _, tail = rhs.partition("...")
        return out_type(inputs[0], [sizes[c] for c in head] + list(ell) * ("..." in rhs) + [sizes[c] for c in tail])

    @staticmethod
    def reference(*inputs, equation):
        args = [upcast(x) for x in inputs]
        return np.einsum(equation.replace(" ", ""), *args, optimize=len(args) > 2).astype(inputs[0].dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        terms, _ = _parse_einsum(attrs["equation"], len(operand_types))
        sizes, ell = _einsum_dims(terms, list(operand_types))
        space = int(np.prod([size_or_one(d) for d in [*sizes.values(), *ell]], dtype=np.int64))
        return space * max(1, 2 * (len(operand_types) - 1))  # naive loop nest over all labels


def _zero_point_ok(zp: TensorType, x: TensorType, axis: int, what: str) -> None:
    """A zero point is a scalar, or per row of a / per column of b (ONNX MatMulInteger)."""
    if zp.dtype != x.dtype:
        fail(f"{what} zero point dtype {zp.dtype} differs from operand dtype {x.dtype}")
    if zp.rank == 0 or zp.shape == (1,):
        return
    if x.rank < 2:
        fail(f"{what} zero point must be a scalar for a 1-D operand")
    per = list(x.shape)
    per[-1 - axis] = 1  # axis 0: rows of a ([..., M, 1]); axis 1: columns of b ([..., 1, N])
    if zp.shape != tuple(per) and zp.shape != (x.shape[-2 + axis],):
        fail(f"{what} zero point shape {list(zp.shape)} fits neither a scalar nor {per}")


@op("matmul_integer", operands="a, b, a_zero?, b_zero?", fusion=OUT_FUSABLE)
class MatMulInteger:
    """(a - a_zero) @ (b - b_zero) on 8-bit ints accumulated into i32, like ONNX MatMulInteger."""

    @staticmethod
    def infer(a, b, a_zero=None, b_zero=None):
        for t, what in ((a, "a"), (b, "b")):
            if t.dtype.name not in ("i8", "u8"):
                fail(f"{what} must be i8 or u8, got {t.dtype}")
        if a_zero is not None:
            _zero_point_ok(a_zero, a, 0, "a")
        if b_zero is not None:
            _zero_point_ok(b_zero, b, 1, "b")
        return TensorType(matmul_shape(a.shape, b.shape)[0], i32)

    @staticmethod
    def reference(a, b, a_zero=None, b_zero=None):
        a, b = a.astype(np.int64), b.astype(np.int64)
        if a_zero is not None:
            a = a - (a_zero.reshape(-1, 1) if a_zero.ndim == 1 else a_zero).astype(np.int64)
        if b_zero is not None:
            b = b - b_zero.astype(np.int64)
        return np.matmul(a, b).astype(np.int32)  # i32 wraps on overflow, like the real kernels

    flops = staticmethod(matmul_flops)
