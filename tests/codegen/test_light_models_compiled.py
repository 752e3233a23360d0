"""The 9 light_*.onnx models of the onnx wheel compiled for llvm (-O2): each against its shipped
reference output, and each architecture with seeded random weights against onnxruntime (the shipped
weights are constants, so their outputs are uniform and catch little)."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import kernforge

from ..frontends.test_onnx_light_models import LIGHT, MODELS, ramp_input, random_weights_case


@pytest.mark.parametrize("name", MODELS)
def test_compiled_light_model_matches_its_reference_output(name):
    model = onnx.load(LIGHT / f"{name}.onnx")
    expected = numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"{name}_output_0.pb")))
    (out,) = kernforge.compile(model).run([ramp_input(model)]).values()
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_compiled_light_architecture_with_random_weights_matches_onnxruntime(name):
    model, x, expected = random_weights_case(name)
    (out,) = kernforge.compile(model).run([x]).values()
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)
