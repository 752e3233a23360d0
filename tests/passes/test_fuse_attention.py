"""fuse-attention on the real BERT and GPT-2 exports, the fully masked row, and an -O3 compile."""

from __future__ import annotations

import numpy as np
import pytest

import kernforge
from kernforge.frontends.onnx import from_onnx
from kernforge.ir import interpret, parse_module
from kernforge.passes import parse_pipeline, run_pipeline

SDPA = "scaled_dot_product_attention"

# torch's BERT block: heads split by transpose, q and kT scaled, additive where(mask, 0, -inf), NaN guard.
BLOCK = """
module @block {
  param @c : tensor<f32> = dense<0.5946035575>
  param @zero : tensor<1xf32> = dense<[0.0]>
  param @ninf : tensor<1xf32> = dense<[-inf]>
  func @main(%q: tensor<2x3x5x8xf32>, %kr: tensor<2x5x3x8xf32>, %v: tensor<2x3x5x4xf32>, %b: tensor<2x1x5x5xbool>) -> tensor<2x3x5x4xf32> {
    %0 = where(%b, @zero, @ninf) : tensor<2x1x5x5xf32>
    %1 = transpose(%kr) {perm = [0, 2, 3, 1]} : tensor<2x3x8x5xf32>
    %2 = mul(%q, @c) : tensor<2x3x5x8xf32>
    %3 = mul(%1, @c) : tensor<2x3x8x5xf32>
    %4 = matmul(%2, %3) : tensor<2x3x5x5xf32>
    %5 = add(%4, %0) : tensor<2x3x5x5xf32>
    %6 = softmax(%5) : tensor<2x3x5x5xf32>
    %7 = is_nan(%6) : tensor<2x3x5x5xbool>
    %8 = where(%7, @zero, %6) : tensor<2x3x5x5xf32>
    %9 = matmul(%8, %v) : tensor<2x3x5x4xf32>
    return %9
  }
}
"""


def block_inputs(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    q, kr, v = (rng.standard_normal(s).astype(np.float32) for s in [(2, 3, 5, 8), (2, 5, 3, 8), (2, 3, 5, 4)])
    keep = rng.random((2, 1, 5, 5)) < 0.7
    keep[..., 0] = True  # every row keeps a key
    return [q, kr, v, keep]


def only_output(module, inputs) -> np.ndarray:
    return next(iter(interpret(module, inputs).values()))


@pytest.fixture(scope="module", params=["bert", "gpt2"])
def real_model(request):
    from kernforge.benchmarks.models import SUITE

    return SUITE[request.param]()  # builds and caches the ONNX file when it is missing


def test_real_model_fuses_every_layer_and_interprets_the_same(real_model):
    before = run_pipeline(from_onnx(real_model.onnx_path), "canonicalize")
    after = run_pipeline(before, "fuse-attention")
    ops = [n.op for n in after.main.nodes]
    assert ops.count(SDPA) == 12
    assert "softmax" not in ops and "is_nan" not in ops
    expected, got = only_output(before, real_model.inputs), only_output(after, real_model.inputs)
    # Folding the two q/k multipliers into one scale rounds differently; twelve layers grow that to
    # ~3e-6 on outputs of magnitude ~1 (one block alone meets atol 1e-6: test_block_matches_strictly).
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=5e-6)


def test_block_matches_strictly():
    module = parse_module(BLOCK)
    fused = run_pipeline(module, "fuse-attention")
    assert [n.op for n in fused.main.nodes] == ["where", "transpose", SDPA]
    assert fused.main.nodes[-1].attrs["scale"] == pytest.approx(0.5946035575 ** 2, rel=1e-6)
    for seed in range(3):
        inputs = block_inputs(seed)
        np.testing.assert_allclose(only_output(fused, inputs), only_output(module, inputs), rtol=1e-5, atol=1e-6)


def test_fully_masked_row_is_nan_where_the_guard_gave_zero():
    """The documented difference: a row with every key masked by -inf."""
    module = parse_module(BLOCK)
    fused = run_pipeline(module, "fuse-attention")
    inputs = block_inputs()
    inputs[3][1, 0, 2, :] = False
    with np.errstate(invalid="ignore"):  # -inf - -inf in both softmaxes is the point of this test
        expected, got = only_output(module, inputs), only_output(fused, inputs)
    assert np.all(expected[1, :, 2] == 0) and np.all(np.isnan(got[1, :, 2]))
    rest = np.ones(got.shape, bool)
    rest[1, :, 2] = False
    np.testing.assert_allclose(got[rest], expected[rest], rtol=1e-5, atol=1e-6)


def test_o3_runs_fuse_attention_before_fuse_ops():
    o3 = parse_pipeline("-O3")
    assert o3.index("fuse-attention") < o3.index("fuse-ops")
    assert "fuse-attention" not in parse_pipeline("-O2")


def test_compiled_o3_block_matches_interpreter():
    module = parse_module(BLOCK)
    cm = kernforge.compile(module, opt_level=3)
    assert SDPA in cm.ir() and "softmax" not in cm.ir()
    inputs = block_inputs()
    np.testing.assert_allclose(cm(*inputs), only_output(module, inputs), rtol=1e-4, atol=1e-5)
