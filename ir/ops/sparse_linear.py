"""Linear maps with a sparse constant weight W [outputs, K] (ir/sparse_formats.py), contracted with the
input along `axis`: y[.., o, ..] = sum_k W[o, k] x[.., k, ..] + bias[o]. axis -1 is a dense layer
(x @ W.T), axis 1 a 1x1 convolution in NCHW."""

from __future__ import annotations

import numpy as np

from ..encodings import BSREncoding, CSREncoding, NMSparseEncoding
from ..quantization import WeightScheme
from ..sparse_formats import LANES, index_bits, nm_entries, unpack_bsr, unpack_csr, unpack_nm, unpack_nm_quant
from ..types import TensorType
from .linalg import same_dim
from .registry import OUT_FUSABLE, REQUIRED, Attr, op
from .shape_utils import fail, need_float, need_rank, norm_axis, out_type

_ATTRS = {"outputs": Attr("int", REQUIRED), "axis": Attr("int", -1)}


def _result(x: TensorType, bias, outputs: int, axis: int, dtypes) -> TensorType:
    """The result type, after the checks every sparse linear op shares."""
    need_float(x, "input")
    a = norm_axis(axis, x.rank)
    for name, t in dtypes:
        if t.dtype.name != ("i32" if name != "values" else x.dtype.name):
            fail(f"{name} must be {'i32' if name != 'values' else x.dtype}, got {t.dtype}")
    if bias is not None:
        need_rank(bias, 1, "bias")
        same_dim(bias.shape[0], outputs, "bias size and outputs differ")
        if bias.dtype != x.dtype:
            fail(f"bias must be {x.dtype}, got {bias.dtype}")
    return out_type(x, (*x.shape[:a], outputs, *x.shape[a + 1:]))


def _encoded(t: TensorType, kind, what: str) -> None:
    if t.encoding is not None and not isinstance(t.encoding, kind):
        fail(f"{what} has encoding {t.encoding}, expected #{kind.mnemonic}")


def apply_linear(x: np.ndarray, w: np.ndarray, bias, axis: int) -> np.ndarray:
    """The reference: W contracted with x along axis, in float64, plus bias along that axis."""
    a = axis % x.ndim
    y = np.moveaxis(np.tensordot(x.astype(np.float64), w.astype(np.float64), axes=([a], [1])), -1, a)
    if bias is not None:
        y = y + bias.astype(np.float64).reshape((-1,) + (1,) * (x.ndim - a - 1))
    return y.astype(x.dtype)


def _flops(operand_types, result_types, attrs, nonzeros: int) -> int:
    return 2 * result_types[0].numel // max(1, attrs["outputs"]) * nonzeros


@op("nm_linear", operands="x, values, index_words, bias?", fusion=OUT_FUSABLE,
    attrs={**_ATTRS, "n": Attr("int", REQUIRED), "m": Attr("int", REQUIRED)})
class NMLinear:
    """N:M sparse weight: n values of every m inputs, in row blocks of 8 lanes (sparse_formats.pack_nm)."""

    @staticmethod
    def infer(x, values, index_words, bias=None, *, outputs, axis, n, m):
        NMSparseEncoding(n, m)  # validates n < m
        _encoded(values, NMSparseEncoding, "values")
        k = x.shape[norm_axis(axis, x.rank)]
        blocks = -(-outputs // LANES)
        if isinstance(k, int):
            entries = -(-k // m) * n
            words = -(-entries // (32 // index_bits(m)))
            if values.shape != (blocks, entries * LANES) or index_words.shape != (blocks, words * LANES):
                fail(f"{outputs} outputs of {k} inputs at {n}:{m} need values [{blocks}, {entries * LANES}] and "
                     f"index words [{blocks}, {words * LANES}], got {list(values.shape)} and "
                     f"{list(index_words.shape)}")
        if index_words.dtype.name != "u32":
            fail(f"index words must be u32, got {index_words.dtype}")
        return _result(x, bias, outputs, axis, [("values", values)])

    @staticmethod
    def reference(x, values, index_words, bias=None, *, outputs, axis, n, m):
        k = x.shape[axis % x.ndim]
        return apply_linear(x, unpack_nm(values, index_words, n, m, (outputs, k)), bias, axis)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        k = operand_types[0].shape[norm_axis(attrs["axis"], operand_types[0].rank)]
        return _flops(operand_types, result_types, attrs, attrs["outputs"] * -(-k // attrs["m"]) * attrs["n"])


def _row_blocked(t: TensorType, outputs: int, fields: int, what: str) -> None:
    want = (-(-outputs // LANES), fields * LANES)
    if t.shape != want:
        fail(f"{what} must be {list(want)} ({outputs} outputs in blocks of {LANES}), got {list(t.shape)}")


@op("nm_quant_linear", operands="x, codes, index_words, scales, offsets, bias?", fusion=OUT_FUSABLE,
    attrs={**_ATTRS, "n": Attr("int", REQUIRED), "m": Attr("int", REQUIRED), "bits": Attr("int", REQUIRED),
           "group": Attr("int", 0)})
class NMQuantLinear:
    """N:M sparse weight whose kept values are bits-bit codes, value = code * scale + offset per group
    of kept values (sparse_formats.quantize_nm): sparsity and quantization in one kernel."""

    @staticmethod
    def infer(x, codes, index_words, scales, offsets, bias=None, *, outputs, axis, n, m, bits, group):
        NMSparseEncoding(n, m, bits, group)  # validates
        WeightScheme(bits, 0)
        _encoded(codes, NMSparseEncoding, "codes")
        k = x.shape[norm_axis(axis, x.rank)]
        if isinstance(k, int):
            entries = nm_entries(n, m, k)
            if entries % (group or entries):
                fail(f"{entries} kept entries per row do not split into groups of {group}")
            _row_blocked(codes, outputs, -(-entries // (32 // bits)), "codes")
            _row_blocked(index_words, outputs, -(-entries // (32 // index_bits(m))), "index words")
            for name, t in (("scales", scales), ("offsets", offsets)):
                _row_blocked(t, outputs, entries // (group or entries), name)
        for name, t in (("codes", codes), ("index words", index_words)):
            if t.dtype.name != "u32":
                fail(f"{name} must be u32, got {t.dtype}")
        return _result(x, bias, outputs, axis, [("values", scales), ("values", offsets)])

    @staticmethod
    def reference(x, codes, index_words, scales, offsets, bias=None, *, outputs, axis, n, m, bits, group):
        k = x.shape[axis % x.ndim]
        w = unpack_nm_quant(codes, index_words, scales, offsets, n, m, bits, group, (outputs, k))
        return apply_linear(x, w, bias, axis)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        k = operand_types[0].shape[norm_axis(attrs["axis"], operand_types[0].rank)]
        return _flops(operand_types, result_types, attrs, attrs["outputs"] * nm_entries(attrs["n"], attrs["m"], k))


def _check_compressed(values: TensorType, indices: TensorType, indptr: TensorType, rows: int) -> None:
    need_rank(indices, 1, "indices")
    need_rank(indptr, 1, "indptr")
    same_dim(indices.shape[0], values.shape[0], "values and indices differ in length")
    same_dim(indptr.shape[0], rows + 1, "indptr must have one entry per (block) row plus one")


@op("bsr_linear", operands="x, values, indices, indptr, bias?", fusion=OUT_FUSABLE, attrs=_ATTRS)
class BSRLinear:
    """Block-sparse weight: dense blocks [blocks, R, C] at block columns `indices`, per block row `indptr`."""

    @staticmethod
    def infer(x, values, indices, indptr, bias=None, *, outputs, axis):
        need_rank(values, 3, "values")
        _encoded(values, BSREncoding, "values")
        _check_compressed(values, indices, indptr, -(-outputs // values.shape[1]))
        return _result(x, bias, outputs, axis, [("values", values), ("indices", indices), ("indptr", indptr)])

    @staticmethod
    def reference(x, values, indices, indptr, bias=None, *, outputs, axis):
        k = x.shape[axis % x.ndim]
        return apply_linear(x, unpack_bsr(values, indices, indptr, (outputs, k)), bias, axis)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        _, r, c = operand_types[1].shape
        return _flops(operand_types, result_types, attrs, operand_types[1].shape[0] * r * c)


@op("csr_linear", operands="x, values, indices, indptr, bias?", fusion=OUT_FUSABLE, attrs=_ATTRS)
class CSRLinear:
    """Unstructured sparse weight in compressed sparse rows: values and column indices per row `indptr`."""

    @staticmethod
    def infer(x, values, indices, indptr, bias=None, *, outputs, axis):
        need_rank(values, 1, "values")
        _encoded(values, CSREncoding, "values")
        _check_compressed(values, indices, indptr, outputs)
        return _result(x, bias, outputs, axis, [("values", values), ("indices", indices), ("indptr", indptr)])

    @staticmethod
    def reference(x, values, indices, indptr, bias=None, *, outputs, axis):
        k = x.shape[axis % x.ndim]
        return apply_linear(x, unpack_csr(values, indices, indptr, (outputs, k)), bias, axis)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return _flops(operand_types, result_types, attrs, operand_types[1].shape[0])
