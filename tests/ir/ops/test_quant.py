import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

X = rand(2, 3, 4, lo=-3.0, hi=3.0)
# x / scale lands exactly on .5 (round half to even) and past the u8/i8 range (saturation).
TIES = np.array([0.25, 0.75, -0.25, -0.75, 1.25, 300.0, -300.0, 0.0], np.float32)
SCALE = np.array(0.5, np.float32)
PER_AXIS = np.array([0.02, 0.05, 0.1], np.float32)
BLOCKS = rand(2, 3, 2, lo=0.01, hi=0.05, seed=7)  # X's axis 2 (size 4) in blocks of 3 -> 2 blocks
ONNX_DTYPE = {"u16": TensorProto.UINT16, "i16": TensorProto.INT16}


def q(inputs, id, **attrs):
    onnx_attrs = {("output_dtype" if k == "dtype" else k): (ONNX_DTYPE[v] if k == "dtype" else v) for k, v in attrs.items()}
    return Case("quantize_linear", inputs, attrs, onnx="QuantizeLinear", onnx_attrs=onnx_attrs, id=f"quantize-{id}")


def dq(inputs, id, **attrs):
    return Case("dequantize_linear", inputs, attrs, onnx="DequantizeLinear", onnx_attrs=attrs,
                id=f"dequantize-{id}", rtol=1e-6, atol=1e-7)


def torch_quant(lo, hi, axis=None):
    """torch's own fake quantizer as the oracle for 4-bit results (zero point 0), which
    onnxruntime cannot return and torch.from_numpy cannot take."""

    def fn(x, scale):
        import torch

        if axis is None:
            return torch.round(torch.fake_quantize_per_tensor_affine(x, float(scale), 0, lo, hi) / scale).to(torch.int8)
        zero = torch.zeros(scale.shape, dtype=torch.int32)
        shape = [-1 if i == axis else 1 for i in range(x.dim())]
        fq = torch.fake_quantize_per_channel_affine(x, scale, zero, axis, lo, hi)
        return torch.round(fq / scale.view(shape)).to(torch.int8)

    return fn


def torch_cast(dt, saturate_at=None):
    def fn(x, s):
        import torch

        y = x / s if saturate_at is None else (x / s).clamp(-saturate_at, saturate_at)
        return y.to(getattr(torch, dt)).float()

    return fn


CASES = [
    q([TIES, SCALE, np.array(10, np.uint8)], "per-tensor-u8-ties"),
    q([TIES, SCALE], "default-u8"),
    q([TIES, SCALE, np.array(-3, np.int8)], "per-tensor-i8"),
    q([X, PER_AXIS, np.array([0, 10, 250], np.uint8)], "per-axis-1"),
    q([X, PER_AXIS[:2], np.array([-5, 5], np.int8)], "per-axis-0", axis=0),
    q([X, PER_AXIS.repeat(2)[:4], np.array([1, 2, 3, 4], np.int8)], "per-axis-neg", axis=-1),
    q([X, BLOCKS, rand(2, 3, 2, dtype=np.uint8, lo=0, hi=255)], "blocked-u8", axis=2, block_size=3),
    q([X, rand(1, 3, 4, lo=0.01, hi=0.05), rand(1, 3, 4, dtype=np.int8, lo=-9, hi=9)], "blocked-axis0-i8",
      axis=0, block_size=2),
    q([X * 1000, SCALE, np.array(-7, np.int16)], "i16"),
    q([X * 1000, SCALE], "u16-dtype-attr", dtype="u16"),
    q([X.astype(np.float16), SCALE.astype(np.float16), np.array(128, np.uint8)], "f16"),
    Case("quantize_linear", [X, np.array(0.3, np.float32)], {"dtype": "i4"}, torch=torch_quant(-8, 7), id="quantize-i4"),
    Case("quantize_linear", [X, PER_AXIS], {"dtype": "u4"}, torch=torch_quant(0, 15, axis=1), id="quantize-u4-per-axis"),
    Case("quantize_linear", [X * 200, SCALE], {"dtype": "f8e4m3"}, torch=torch_cast("float8_e4m3fn", 448.0),
         id="quantize-f8e4m3-saturate"),
    Case("quantize_linear", [X * 2e4, SCALE], {"dtype": "f8e5m2", "saturate": False}, torch=torch_cast("float8_e5m2"),
         id="quantize-f8e5m2-overflows-to-inf"),
    dq([rand(2, 3, 4, dtype=np.uint8, lo=0, hi=255), SCALE, np.array(100, np.uint8)], "per-tensor-u8"),
    dq([rand(2, 3, 4, dtype=np.int8, lo=-128, hi=127), PER_AXIS, np.array([0, -3, 7], np.int8)], "per-axis-i8"),
    dq([rand(2, 3, 4, dtype=np.uint8, lo=0, hi=255), BLOCKS, rand(2, 3, 2, dtype=np.uint8, lo=0, hi=255)],
       "blocked", axis=2, block_size=3),
    dq([rand(2, 3, 4, dtype=np.int16, lo=-30000, hi=30000), SCALE, np.array(-9, np.int16)], "i16"),
    dq([rand(5, dtype=np.int32, lo=-(2**30), hi=2**30), np.array(1e-3, np.float32)], "i32"),
    dq([rand(2, 3, dtype=np.uint8, lo=0, hi=255), np.array(0.1, np.float16), np.array(3, np.uint8)], "f16-scale"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def run(name, inputs, **attrs):
    opdef = get_op(name)
    return opdef.evaluate(inputs, opdef.check_attrs(attrs))[0]


def test_int4_zero_points_match_wide_ints():
    """4-bit values with zero points: the same numbers as i16, saturated to the 4-bit range
    (no oracle can feed or return 4-bit arrays)."""
    wide = run("quantize_linear", [X, PER_AXIS, np.array([-2, 0, 5], np.int16)])
    narrow = run("quantize_linear", [X, PER_AXIS, np.array([-2, 0, 5], ml_dtypes.int4)])
    assert narrow.dtype == ml_dtypes.int4
    np.testing.assert_array_equal(narrow.astype(np.int16), np.clip(wide, -8, 7))
    u4 = run("quantize_linear", [X, SCALE, np.array(9, ml_dtypes.uint4)])
    np.testing.assert_array_equal(u4.astype(np.int16), np.clip(run("quantize_linear", [X, SCALE, np.array(9, np.int16)]), 0, 15))
    x4, z4 = np.arange(-8, 8).reshape(4, 4).astype(ml_dtypes.int4), np.array([1, -1, 0, 7], ml_dtypes.int4)
    scale = np.array([0.5, 0.25, 2.0, 1.0], np.float32)
    got = run("dequantize_linear", [x4, scale, z4], axis=0)
    want = run("dequantize_linear", [x4.astype(np.int8), scale, z4.astype(np.int8)], axis=0)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name, types, attrs", [
    ("quantize_linear", [tensor([2, 3]), tensor([2])], {}),  # per-axis size differs from dim 1
    ("quantize_linear", [tensor([2, 3]), tensor([3]), tensor([], "u8")], {}),  # zero point shape
    ("quantize_linear", [tensor([2, 3]), tensor([2, 3])], {}),  # 2-D scale without block_size
    ("quantize_linear", [tensor([2, 6]), tensor([2, 3])], {"block_size": 3}),  # 6 / 3 = 2 blocks
    ("quantize_linear", [tensor([2, 6]), tensor([2])], {"block_size": 3}),
    ("quantize_linear", [tensor([2, 3]), tensor([])], {"dtype": "i32"}),
    ("quantize_linear", [tensor([2, 3]), tensor([]), tensor([], "u8")], {"dtype": "i8"}),
    ("quantize_linear", [tensor([2, 3], "i32"), tensor([], "i32")], {}),
    ("quantize_linear", [tensor([2, 3]), tensor([3])], {"axis": 2}),
    ("dequantize_linear", [tensor([2, 3], "f32"), tensor([])], {}),
    ("dequantize_linear", [tensor([2, 3], "u8"), tensor([]), tensor([], "i8")], {}),
    ("dequantize_linear", [tensor([2, 3], "u8"), tensor([], "i32")], {}),
])
def test_bad_operands_raise(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)


def test_result_types():
    assert infer("quantize_linear", [tensor(["n", 3]), tensor([3]), tensor([3], "i4")])[0] == tensor(["n", 3], "i4")
    assert infer("quantize_linear", [tensor(["n", 8]), tensor(["n", 2])], axis=1, block_size=4)[0].dtype.name == "u8"
    assert infer("dequantize_linear", [tensor([4, 8], "i4"), tensor([4, 1], "f16")], block_size=8)[0] == tensor(
        [4, 8], "f16")
