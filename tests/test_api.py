import numpy as np
import pytest

import kernforge
from kernforge.errors import InputError, KernforgeError

from .models import affine_relu


@pytest.fixture(scope="module")
def compiled():
    return kernforge.compile(affine_relu(), input_shapes={"x": [8, 64]})


def test_compiled_matches_interpreter(compiled):
    x = np.random.default_rng(1).standard_normal((8, 64)).astype(np.float32)
    ref = kernforge.interpret(affine_relu(), {"x": x})
    out = compiled.run({"x": x})
    assert list(out) == ["y", "pre"] == compiled.output_names
    for k in out:
        np.testing.assert_allclose(out[k], ref[k], rtol=1e-6, atol=1e-6)
    y, pre = compiled(x)
    np.testing.assert_array_equal(y, out["y"])
    np.testing.assert_array_equal(compiled(x=x)[1], pre)


def test_dynamic_dim_defaults_to_one_and_is_checked():
    cm = kernforge.compile(affine_relu())
    assert cm.executor.plan.inputs[0].shape == [1, 64]
    with pytest.raises(InputError, match=r"input 'x' has shape \[2, 64\], expected \[1, 64\]"):
        cm(np.zeros((2, 64), np.float32))


@pytest.mark.parametrize("bad, message", [
    ({"x": np.zeros((8, 64), np.float64)}, "dtype float64, expected f32"),
    ({"z": np.zeros((8, 64), np.float32)}, r"missing \['x'\], unexpected \['z'\]"),
])
def test_bad_inputs(compiled, bad, message):
    with pytest.raises(InputError, match=message):
        compiled.run(bad)


def test_benchmark_reports_statistics(compiled):
    r = compiled.benchmark(5, warmup=1)
    assert r.n == 5 and 0 < r.p10_ms <= r.median_ms <= r.p90_ms


def test_bad_input_shapes_and_targets():
    with pytest.raises(InputError, match="unknown input"):
        kernforge.compile(affine_relu(), input_shapes={"nope": [1, 64]})
    with pytest.raises(InputError, match="disagrees"):
        kernforge.compile(affine_relu(), input_shapes={"x": [1, 63]})
    with pytest.raises(KernforgeError, match="unknown target kind 'tpu'"):
        kernforge.compile(affine_relu(), target="tpu")


def test_param_without_data_is_refused():
    text = """module @m {
  param @w : tensor<4x32xf32>
  func @main(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
    %0 = add(%x, @w) : tensor<4x32xf32>
    return %0
  }
}
"""
    with pytest.raises(KernforgeError, match="@w have no data"):
        kernforge.compile(kernforge.parse_module(text))


def test_ir_text_shows_static_shapes(compiled):
    assert "func @main(%x: tensor<8x64xf32>)" in compiled.ir()
