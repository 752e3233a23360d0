"""BSR and CSR kernels (hand-written TIR walking the row pointers) compiled for llvm against the
interpreter on the same IR: both axes, block shapes that do not divide the weight, column counts no
vector tile divides, empty rows, and fused epilogues."""

import numpy as np
import pytest

import kernforge
from kernforge.ir import Builder, interpret
from kernforge.ir.sparsity import SparsityScheme, add_params, pack, prune

RNG = np.random.default_rng(31)
OPS = {"bsr": "bsr_linear", "csr": "csr_linear"}


def sparse_module(xshape, outputs: int, scheme: str, axis: int = -1, empty_rows: int = 0):
    """op + bias + relu + a residual add: one kernel's worth of epilogue around the sparse walk."""
    s = SparsityScheme.parse(scheme)
    w = prune(RNG.standard_normal((outputs, xshape[axis])).astype(np.float32), s)
    w[:empty_rows] = 0  # rows (or block rows) with nothing stored
    b = Builder("sparse")
    f = b.function()
    x = f.arg("x", list(xshape), "f32")
    bias = b.param("b", RNG.standard_normal(outputs).astype(np.float32))
    y = f.op("relu", f.op(OPS[s.kind], x, *add_params(b.module, "w", pack(w, s)), bias, outputs=outputs, axis=axis))
    f.ret(f.op("add", y, f.arg("r", list(y.type.shape), "f32")))
    return b.module


CASES = [  # x shape, outputs, scheme, axis, empty rows
    ((3, 37), 13, "unstructured:0.8", -1, 2),
    ((1, 64), 32, "bsr:16x1:0.8", -1, 16),
    ((40, 64), 35, "bsr:16x1:0.8", -1, 0),  # 35 rows: a partial block row
    ((2, 3, 40), 17, "bsr:4x4:0.5", -1, 0),
    ((2, 48, 5, 5), 24, "unstructured:0.9", 1, 1),  # 25 pixels: no vector tile divides them
    ((1, 96, 8, 8), 24, "unstructured:0.9", 1, 0),
    ((1, 20, 4, 4), 7, "bsr:3x2:0.5", 1, 0),  # 20 inputs and 7 outputs: edge blocks padded
]


@pytest.mark.parametrize("xshape, outputs, scheme, axis, empty", CASES)
def test_compiled_compressed_rows_match_the_interpreter(xshape, outputs, scheme, axis, empty):
    module = sparse_module(xshape, outputs, scheme, axis, empty)
    cm = kernforge.compile(module)
    x = RNG.standard_normal(xshape).astype(np.float32)
    r = RNG.standard_normal([int(d) for d in module.main.nodes[-1].results[0].type.shape]).astype(np.float32)
    (got,) = cm.run([x, r]).values()
    (want,) = interpret(module, [x, r]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums in another order
    assert [k["rule"] for k in cm.executor.plan.kernels.values()] == ["opaque"]  # one kernel, epilogue fused
