"""The 9 light_*.onnx models of the onnx wheel compiled for llvm (-O2): each against its shipped
reference output, and each architecture with seeded random weights against onnxruntime (the shipped
weights are constants, so their outputs are uniform and catch little)."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import kernforge

from ..frontends.test_onnx_light_models import LIGHT, MODELS, data_input, ramp_input, random_weights


@pytest.mark.parametrize("name", MODELS)
def test_compiled_light_model_matches_its_reference_output(name):
    model = onnx.load(LIGHT / f"{name}.onnx")
    expected = numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"{name}_output_0.pb")))
    (out,) = kernforge.compile(model).run([ramp_input(model)]).values()
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_compiled_light_architecture_with_random_weights_matches_onnxruntime(name):
    import onnxruntime as ort

    model = random_weights(onnx.load(LIGHT / f"{name}.onnx"))
    x = np.random.default_rng(1).standard_normal(ramp_input(model).shape).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, {data_input(model).name: x})
    (out,) = kernforge.compile(model).run([x]).values()
    assert np.ptp(expected) > 0.01 * np.abs(expected).max()  # random weights: a non-degenerate output
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)
