"""Sparse linear ops: their references against torch's linear and conv2d on the unpacked weight,
and the type checks that name the problem."""

import numpy as np
import pytest
import torch

from kernforge.errors import KernforgeError
from kernforge.ir import Builder, interpret
from kernforge.ir.sparsity import SparsityScheme, add_params, pack, prune

RNG = np.random.default_rng(11)
OPS = {"nm": "nm_linear", "bsr": "bsr_linear", "csr": "csr_linear"}


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


@pytest.mark.parametrize("scheme", ["2:4", "1:4", "3:5", "bsr:4x2:0.6", "bsr:16x1:0.8", "unstructured:0.8"])
def test_dense_layer_matches_torch_linear(scheme):
    w = prune(RNG.standard_normal((13, 30)).astype(np.float32), SparsityScheme.parse(scheme))
    bias = RNG.standard_normal(13).astype(np.float32)
    x = RNG.standard_normal((2, 3, 30)).astype(np.float32)
    (got,) = interpret(sparse_module(w, scheme, x.shape, -1, bias), [x]).values()
    want = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 result of a float64 sum


@pytest.mark.parametrize("scheme", ["2:4", "bsr:2x4:0.5", "unstructured:0.9"])
def test_conv1x1_matches_torch_conv2d(scheme):
    w = prune(RNG.standard_normal((6, 20)).astype(np.float32), SparsityScheme.parse(scheme))
    x = RNG.standard_normal((2, 20, 3, 5)).astype(np.float32)
    (got,) = interpret(sparse_module(w, scheme, x.shape, 1), [x]).values()
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w[:, :, None, None])).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_mismatched_storage_is_a_clear_error():
    w = prune(RNG.standard_normal((8, 16)).astype(np.float32), SparsityScheme.parse("2:4"))
    with pytest.raises(KernforgeError, match=r"nm_linear.*8 outputs of 12 inputs at 2:4 need values \[1, 48\]"):
        sparse_module(w, "2:4", (1, 12), -1)
    c = prune(RNG.standard_normal((8, 16)).astype(np.float32), SparsityScheme.parse("unstructured:0.5"))
    with pytest.raises(KernforgeError, match="bias size and outputs differ"):
        sparse_module(c, "unstructured", (1, 16), -1, bias=np.ones(3, np.float32))
