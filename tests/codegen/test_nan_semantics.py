"""Compiled clamps keep NaN like their NumPy references (LLVM's min/max return the other operand, and
TVM's simplifier folds `x != x` to false): each bound is a select on a comparison that NaN fails,
which stays vector code (vminps/vmaxps in the operand order that keeps NaN) in a fused write-back."""

import re

import numpy as np
import pytest

import kernforge
from kernforge.codegen.build import compile_kernels, plan_function
from kernforge.codegen.target import Target
from kernforge.ir import Builder, interpret
from kernforge.passes import run_pipeline


@pytest.mark.parametrize("op, attrs", [("clip", {"min": -448.0, "max": 448.0}), ("relu6", {}),
                                       ("hardtanh", {"min_val": -1.0, "max_val": 1.0})])
def test_clamps_keep_nan(op, attrs):
    b = Builder()
    f = b.function()
    f.ret(f.op(op, f.arg("x", [16]), **attrs))
    x = np.array([np.nan, 1.0, 1000.0, -1000.0] * 4, np.float32)
    ours, ref = kernforge.compile(b.module, opt_level=0)(x), interpret(b.module, [x])["out0"]
    assert np.isnan(ref[::4]).all()
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("dtype", ["i4", "u4", "i2", "u2"])
def test_float_to_sub_byte_int_casts_zero_out_of_range_values_like_the_reference(dtype):
    """ml_dtypes (the reference, and onnx 1.23's expected outputs) truncates, then gives 0 for values
    outside the type's range and for NaN; the compiled cast had wrapped them (-9 -> 7 in int4)."""
    b = Builder()
    f = b.function()
    f.ret(f.op("cast", f.arg("x", [16]), dtype=dtype))
    x = np.array([-9, -8.5, -8, -2.5, -1, 0, 0.9, 1.5, 3.7, 7, 7.6, 8, 15, 16, 100, np.nan], np.float32)
    with np.errstate(invalid="ignore"):
        ref = interpret(b.module, [x])["out0"]
    np.testing.assert_array_equal(kernforge.compile(b.module, opt_level=0)(x).astype(np.int32), ref.astype(np.int32))


def test_a_clip_fused_into_a_conv_write_back_stays_vectorized():
    """ReLU6 on a blocked 1x1 conv's write-back: an isnan select there was scalarized (a compare and a
    branch per float, 2.3x slower kernel); the comparison selects compile to vector compares."""
    b = Builder()
    f = b.function()
    rng = np.random.default_rng(0)
    x = f.op("conv2d", f.arg("x", [1, 16, 8, 8]), f.param("w0", rng.standard_normal((16, 16, 1, 1), np.float32)))
    y = f.op("conv2d", x, f.param("w1", rng.standard_normal((32, 16, 1, 1), np.float32)))
    f.ret(f.op("clip", y, min=0.0, max=6.0))
    module = run_pipeline(b.module, "layout,fuse-ops")
    _, specs = plan_function(module.main)
    target = Target("llvm", {"mcpu": "znver3"}, vector_bits=256, cores=2)
    asm = compile_kernels(specs, target).mod.inspect_source("asm")
    assert "ucomiss" not in asm and re.search(r"\bv(minps|maxps|cmp\w*ps)\b", asm), asm
