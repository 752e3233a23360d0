import numpy as np
import pytest

from kernforge.errors import InputError, InterpreterError
from kernforge.ir import Builder, interpret, region


def build_mlp_block():
    """relu(x * w + b) with a dynamic batch: two outputs, one named."""
    b = Builder("block")
    w = b.param("w", np.array([0.5, -1.0, 2.0], np.float32))
    bias = b.param("bias", np.array([0.1, 0.2, 0.3], np.float32))
    f = b.function()
    x = f.arg("x", ["batch", 3])
    h = f.add(f.mul(x, w), bias)
    y = f.clip(h, min=0.0)
    y.name = "y"
    f.ret(y, h)
    return b.module


def test_interpret_by_name_and_by_position():
    m = build_mlp_block()
    x = np.array([[1, 2, 3], [-1, -2, -3]], np.float32)
    expect_h = x * np.array([0.5, -1.0, 2.0], np.float32) + np.array([0.1, 0.2, 0.3], np.float32)
    out = interpret(m, {"x": x})
    assert list(out) == ["y", "out1"]
    np.testing.assert_array_equal(out["y"], np.maximum(expect_h, 0))
    np.testing.assert_array_equal(interpret(m, [x])["out1"], expect_h)


@pytest.mark.parametrize("inputs, message", [
    ({"x": np.zeros((2, 4), np.float32)}, "expected tensor<\\?batch x3xf32> \\(dim 1\\)"),
    ({"x": np.zeros((2, 3), np.float64)}, "input 'x' has dtype float64, expected f32"),
    ({"x": np.zeros(3, np.float32)}, "expected rank 2"),
    ({"y": np.zeros((2, 3), np.float32)}, "missing \\['x'\\], unexpected \\['y'\\]"),
    ([], "expects 1 inputs"),
])
def test_bad_inputs_name_the_input(inputs, message):
    with pytest.raises(InputError, match=message):
        interpret(build_mlp_block(), inputs)


def test_symbols_must_bind_consistently():
    b = Builder()
    f = b.function()
    x, y = f.arg("x", ["n", 2]), f.arg("y", ["n", 2])
    f.ret(f.add(x, y))
    with pytest.raises(InputError, match=r"\?n was bound to 3"):
        interpret(b.module, [np.zeros((3, 2), np.float32), np.zeros((4, 2), np.float32)])


def test_fused_region_runs_like_its_unfused_body():
    b = Builder()
    w = b.param("w", np.array([1.0, -2.0], np.float32))
    f = b.function()
    x = f.arg("x", [4, 2])
    body = region("mul_relu")
    a, c = body.arg("a", [4, 2]), body.arg("c", [2])
    body.ret(body.clip(body.mul(a, c), min=0.0))
    fused = f.op("fused", x, w, region=body.func, kind="elemwise")
    f.ret(fused)
    x_val = np.arange(8, dtype=np.float32).reshape(4, 2) - 4
    np.testing.assert_array_equal(interpret(b.module, [x_val])["out0"], np.maximum(x_val * [1.0, -2.0], 0))


def test_param_without_data_is_a_clear_error():
    from kernforge.ir.types import tensor

    b = Builder()
    w = b.param("w", type=tensor([2], "f32"))
    f = b.function()
    f.ret(f.add(f.arg("x", [2]), w))
    with pytest.raises(InterpreterError, match="@w has no data"):
        interpret(b.module, [np.zeros(2, np.float32)])
