"""Sparse linear ops against torch: the N:M layouts decoded index by index, BSR and CSR through
torch's own sparse tensors, then a float64 contraction along the op's axis; and the type checks."""

import numpy as np
import pytest
import torch

from kernforge.errors import KernforgeError
from kernforge.ir import Builder
from kernforge.ir.quantization import WeightScheme
from kernforge.ir.sparse_formats import quantize_nm
from kernforge.ir.sparsity import SparsityScheme, add_params, pack, prune

from .harness import Case, check_case, ids

RNG = np.random.default_rng(11)
OPS = {"nm": "nm_linear", "bsr": "bsr_linear", "csr": "csr_linear"}


def _apply(x, w, bias, axis):
    """torch: w [outputs, K] contracted with x along axis, in float64."""
    y = torch.movedim(torch.movedim(x.double(), axis, -1) @ w.double().T, -1, axis)
    if bias is not None:
        y = y + bias.double().reshape((-1,) + (1,) * (x.dim() - axis % x.dim() - 1))
    return y.float()


def _fields(words, bits, rows, count):
    """torch decode of row-blocked words: field f of row r in word (f // per) * 8 + r % 8 of block r // 8."""
    per, r, f = 32 // bits, torch.arange(rows)[:, None], torch.arange(count)[None, :]
    word = words.long()[r // 8, (f // per) * 8 + r % 8]
    return (word >> (f % per * bits)) & ((1 << bits) - 1)


def _nm_dense(vals, positions, n, m, outputs, k):
    groups = torch.arange(vals.shape[1])[None, :] // n
    w = torch.zeros(outputs, -(-k // m) * m, dtype=torch.float64)
    w.scatter_(1, groups * m + positions, vals.double())
    return w[:, :k]


def _torch_nm(n, m, outputs, axis):
    def run(x, values, index_words, bias=None):
        k = x.shape[axis]
        entries = -(-k // m) * n
        r, f = torch.arange(outputs)[:, None], torch.arange(entries)[None, :]
        vals = values[r // 8, f * 8 + r % 8]
        return _apply(x, _nm_dense(vals, _fields(index_words, max(1, (m - 1).bit_length()), outputs, entries), n, m,
                                   outputs, k), bias, axis)
    return run


def _torch_nm_quant(n, m, bits, group, outputs, axis):
    def run(x, codes, index_words, scales, offsets, bias=None):
        k = x.shape[axis]
        entries = -(-k // m) * n
        r, g = torch.arange(outputs)[:, None], torch.arange(entries)[None, :] // (group or entries)
        vals = (_fields(codes, bits, outputs, entries).double() * scales.double()[r // 8, g * 8 + r % 8]
                + offsets.double()[r // 8, g * 8 + r % 8])
        positions = _fields(index_words, max(1, (m - 1).bit_length()), outputs, entries)
        return _apply(x, _nm_dense(vals, positions, n, m, outputs, k), bias, axis)
    return run


def _torch_compressed(outputs, axis, block):
    """torch's own sparse CSR / BSR tensors, densified."""
    def run(x, values, indices, indptr, bias=None):
        k = x.shape[axis]
        if block is None:
            w = torch.sparse_csr_tensor(indptr.long(), indices.long(), values, (outputs, k)).to_dense()
        else:
            r, c = block
            size = ((len(indptr) - 1) * r, -(-k // c) * c)
            w = torch.sparse_bsr_tensor(indptr.long(), indices.long(), values, size).to_dense()[:outputs, :k]
        return _apply(x, w, bias, axis)
    return run


def case(scheme, xshape, outputs, axis=-1, bias=False, quantize=None, seed=0):
    rng = np.random.default_rng(seed)
    s = SparsityScheme.parse(scheme)
    w = prune(rng.standard_normal((outputs, xshape[axis])).astype(np.float32), s)
    packed = pack(w, s)
    x = rng.standard_normal(xshape).astype(np.float32)
    b = [rng.standard_normal(outputs).astype(np.float32)] if bias else []
    attrs = {"outputs": outputs, "axis": axis}
    name = f"{scheme}-{'x'.join(map(str, xshape))}-o{outputs}-axis{axis}{'-bias' if bias else ''}"
    if quantize:
        q = quantize_nm(packed, WeightScheme.parse(quantize))
        attrs.update(n=s.n, m=s.m, bits=q.bits, group=q.group)
        return Case("nm_quant_linear", [x, q.codes, q.index_words, q.scales, q.offsets, *b], attrs,
                    torch=_torch_nm_quant(s.n, s.m, q.bits, q.group, outputs, axis), id=f"{name}-{quantize}",
                    rtol=1e-5, atol=1e-5)
    if s.kind == "nm":
        attrs.update(n=s.n, m=s.m)
        return Case("nm_linear", [x, packed.values, packed.index_words, *b], attrs,
                    torch=_torch_nm(s.n, s.m, outputs, axis), id=name, rtol=1e-5, atol=1e-5)
    block = packed.values.shape[1:] if s.kind == "bsr" else None
    return Case(OPS[s.kind], [x, packed.values, packed.indices, packed.indptr, *b], attrs,
                torch=_torch_compressed(outputs, axis, block), id=name, rtol=1e-5, atol=1e-5)


CASES = [
    case("2:4", (2, 3, 30), 13, bias=True), case("1:4", (1, 64), 9), case("3:5", (4, 21), 10),
    case("2:8", (2, 20, 3, 5), 6, axis=1),
    case("2:4", (1, 64), 11, bias=True, quantize="w4g16"), case("1:4", (3, 40), 8, quantize="w8"),
    case("2:4", (2, 16, 2, 2), 9, axis=1, quantize="w2g8-sym"),
    case("bsr:4x2:0.6", (3, 30), 13, bias=True), case("bsr:16x1:0.8", (2, 64), 40),
    case("bsr:2x4:0.5", (2, 20, 3, 5), 6, axis=1),
    case("unstructured:0.8", (2, 3, 30), 13, bias=True), case("unstructured:0.9", (2, 20, 3, 5), 6, axis=1),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def sparse_module(w, scheme: str, xshape, axis: int, bias=None):
    s = SparsityScheme.parse(scheme)
    b = Builder("s")
    f = b.function()
    x = f.arg("x", list(xshape), "f32")
    extra = [b.param("b", bias)] if bias is not None else []
    attrs = {"n": s.n, "m": s.m} if s.kind == "nm" else {}
    f.ret(f.op(OPS[s.kind], x, *add_params(b.module, "w", pack(w, s)), *extra, outputs=w.shape[0], axis=axis,
               **attrs))
    return b.module


def test_mismatched_storage_is_a_clear_error():
    w = prune(RNG.standard_normal((8, 16)).astype(np.float32), SparsityScheme.parse("2:4"))
    with pytest.raises(KernforgeError, match=r"nm_linear.*8 outputs of 12 inputs at 2:4 need values \[1, 48\]"):
        sparse_module(w, "2:4", (1, 12), -1)
    c = prune(RNG.standard_normal((8, 16)).astype(np.float32), SparsityScheme.parse("unstructured:0.5"))
    with pytest.raises(KernforgeError, match="bias size and outputs differ"):
        sparse_module(c, "unstructured", (1, 16), -1, bias=np.ones(3, np.float32))
