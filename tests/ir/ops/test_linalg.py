import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

# BLAS and the oracles sum the K products in different orders, so float32 results differ by
# a few ulps times K.
TOL = {"rtol": 1e-4, "atol": 1e-5}
F16_TOL = {"rtol": 2e-3, "atol": 2e-3}
U8A, U8B = rand(3, 5, dtype=np.uint8, lo=0, hi=255), rand(5, 4, dtype=np.uint8, lo=0, hi=255, seed=1)
I8A, I8B = rand(2, 3, 5, dtype=np.int8, lo=-128, hi=127), rand(5, 4, dtype=np.int8, lo=-128, hi=127, seed=1)


def mm(a, b, **kw):
    return Case("matmul", [a, b], onnx="MatMul", **TOL, **kw)


def gemm(inputs, attrs, onnx_attrs, id):
    return Case("gemm", inputs, attrs, onnx="Gemm", onnx_attrs=onnx_attrs, id=id, **TOL)


def es(eq, *xs, id):
    return Case("einsum", list(xs), {"equation": eq}, onnx="Einsum", onnx_attrs={"equation": eq}, id=id, **TOL)


def mmi(inputs, id):
    return Case("matmul_integer", inputs, onnx="MatMulInteger", id=id)


CASES = [
    mm(rand(3, 4), rand(4, 5), id="matmul-2d"),
    mm(rand(2, 1, 3, 4), rand(5, 4, 6, seed=1), id="matmul-batch-bcast"),
    mm(rand(4), rand(2, 4, 5), id="matmul-1d-lhs"),
    mm(rand(2, 3, 4), rand(4, seed=1), id="matmul-1d-rhs"),
    mm(rand(7), rand(7, seed=1), id="matmul-1d-1d"),
    mm(rand(3, 4, dtype=np.int32, lo=-9, hi=9), rand(4, 2, dtype=np.int32, lo=-9, hi=9), id="matmul-int32"),
    Case("matmul", [rand(2, 8, 16, dtype=np.float16), rand(16, 4, dtype=np.float16, seed=1)],
         torch=lambda a, b: a @ b, id="matmul-f16", **F16_TOL),
    Case("dense", [rand(2, 3, 8), rand(5, 8, seed=1), rand(5, seed=2)],
         torch=lambda x, w, b: x @ w.T + b, id="dense-bias", **TOL),
    Case("dense", [rand(4, 8), rand(6, 8, seed=1)], torch=lambda x, w: x @ w.T, id="dense-nobias", **TOL),
    Case("dense", [rand(4, 8, dtype=np.float16), rand(6, 8, dtype=np.float16, seed=1)],
         torch=lambda x, w: x @ w.T, id="dense-f16", **F16_TOL),
    gemm([rand(3, 4), rand(4, 5), rand(5, seed=2)], {}, {}, "gemm-row-bias"),
    gemm([rand(4, 3), rand(5, 4), rand(3, 1, seed=2)], {"trans_a": True, "trans_b": True, "alpha": 0.5, "beta": 2.0},
         {"transA": 1, "transB": 1, "alpha": 0.5, "beta": 2.0}, "gemm-trans-alpha-beta"),
    gemm([rand(3, 4), rand(5, 4)], {"trans_b": True}, {"transB": 1}, "gemm-no-c"),
    gemm([rand(3, 4), rand(4, 5), np.float32(1.5)], {"beta": -1.0}, {"beta": -1.0}, "gemm-scalar-c"),
    es("ij,jk->ik", rand(3, 4), rand(4, 5), id="einsum-matmul"),
    es("bhld,bhsd->bhls", rand(2, 3, 4, 8), rand(2, 3, 5, 8, seed=1), id="einsum-attention"),
    es("...ij,...jk", rand(2, 3, 4), rand(1, 4, 5, seed=1), id="einsum-ellipsis-implicit"),
    es("ij->ji", rand(3, 4), id="einsum-transpose"),
    es("ij->", rand(3, 4), id="einsum-sum"),
    es("i,j,ij->i", rand(3), rand(4, seed=1), rand(3, 4, seed=2), id="einsum-3-operands"),
    mmi([U8A, U8B], id="mmi-u8"),
    mmi([U8A, U8B, np.uint8(12), np.uint8(200)], id="mmi-u8-zero-points"),
    mmi([I8A, I8B, np.int8(-3), np.int8(5)], id="mmi-i8-batched"),
    mmi([U8A, I8B, np.uint8(7)], id="mmi-u8-i8"),
    # onnxruntime only takes a scalar a_zero, so the per-row zero point is checked against torch.
    Case("matmul_integer", [U8A, U8B, np.array([1, 2, 3], np.uint8)], id="mmi-per-row",
         torch=lambda a, b, z: ((a.int() - z.int()[:, None]) @ b.int())),
    mmi([U8A, U8B, np.uint8(0), np.array([1, 2, 3, 4], np.uint8)], id="mmi-per-column"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


@pytest.mark.parametrize("name, types, attrs", [
    ("matmul", [tensor([3, 4]), tensor([5, 6])], {}),
    ("matmul", [tensor([2, 3, 4]), tensor([3, 4, 5])], {}),
    ("matmul", [tensor([3, 4]), tensor([4, 5], "f16")], {}),
    ("matmul", [tensor([]), tensor([4])], {}),
    ("dense", [tensor([2, 8]), tensor([5, 7])], {}),
    ("dense", [tensor([2, 8]), tensor([5, 8]), tensor([4])], {}),
    ("dense", [tensor([2, 8]), tensor([5, 8, 1])], {}),
    ("gemm", [tensor([3, 4]), tensor([5, 4])], {}),
    ("gemm", [tensor([3, 4]), tensor([4, 5]), tensor([3])], {}),
    ("gemm", [tensor([2, 3, 4]), tensor([4, 5])], {}),
    ("einsum", [tensor([3, 4]), tensor([5, 6])], {"equation": "ij,jk->ik"}),
    ("einsum", [tensor([3, 4])], {"equation": "ij,jk->ik"}),
    ("einsum", [tensor([3, 4])], {"equation": "ijk->i"}),
    ("einsum", [tensor([3, 4])], {"equation": "ij->iz"}),
    ("matmul_integer", [tensor([3, 4], "f32"), tensor([4, 5], "u8")], {}),
    ("matmul_integer", [tensor([3, 4], "u8"), tensor([4, 5], "u8"), tensor([], "i8")], {}),
    ("matmul_integer", [tensor([3, 4], "u8"), tensor([4, 5], "u8"), tensor([4], "u8")], {}),
])
def test_bad_operands_raise(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)


def test_symbolic_dims_and_flops():
    a, b = tensor(["batch", 3, 4]), tensor([4, 5])
    (out,) = infer("matmul", [a, b])
    assert out.shape == ("batch", 3, 5)
    assert get_op("matmul").count_flops([a, b], [out], {}) == 2 * 3 * 5 * 4
    (out,) = infer("dense", [tensor(["n", 8]), tensor([6, 8])])
    assert out.shape == ("n", 6)
    (out,) = infer("einsum", [tensor(["b", 3, 4]), tensor([4, 5])], equation="...ij,jk->...ik")
    assert out.shape == ("b", 3, 5)
    assert get_op("einsum").count_flops([tensor([3, 4]), tensor([4, 5])], [tensor([3, 5])],
                                        {"equation": "ij,jk->ik"}) == 2 * 3 * 4 * 5
    g = get_op("gemm")
    attrs = g.check_attrs({"trans_a": True})
    (out,) = g.infer_types([tensor([4, 3]), tensor([4, 5])], attrs)
    assert out.shape == (3, 5) and g.count_flops([tensor([4, 3]), tensor([4, 5])], [out], attrs) == 120
