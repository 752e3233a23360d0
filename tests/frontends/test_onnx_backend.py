"""The onnx.backend API over kernforge: prepare, run_model, run_node, supports_device."""

import numpy as np
import onnx.reference
import pytest
from onnx import TensorProto, helper

from kernforge.errors import ConstantRequiredError
from kernforge.frontends import onnx_backend
from kernforge.frontends.onnx import from_onnx


def reshape_model():
    """Reshape whose target shape is a graph input, as the node tests feed it."""
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    graph = helper.make_graph([node], "g", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
        helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_supports_only_cpu():
    assert onnx_backend.supports_device("CPU")
    assert not onnx_backend.supports_device("CUDA")


def test_run_node():
    x = np.array([[-1.0, 2.0]], np.float32)
    (y,) = onnx_backend.run_node(helper.make_node("Relu", ["x"], ["y"]), [x])
    np.testing.assert_array_equal(y, [[0.0, 2.0]])


def test_run_model_specializes_attribute_inputs_per_value():
    model = reshape_model()
    with pytest.raises(ConstantRequiredError, match="input 1 \\('shape'\\) must be a constant"):
        from_onnx(model)
    rep = onnx_backend.prepare(model)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = rep.run([x, np.array([3, 2], np.int64)])
    assert y.shape == (3, 2)
    (y,) = rep.run([x, np.array([6, 1], np.int64)])
    assert y.shape == (6, 1)
    assert rep.frozen == {"shape"}


def test_run_model_matches_onnx_reference():
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5)
    graph = helper.make_graph([node], "g", [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in (("a", [2, 3]), ("b", [4, 3]), ("c", [4]))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rng = np.random.default_rng(0)
    feeds = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3), (4, 3), (4,))]
    (ours,) = onnx_backend.run_model(model, feeds)
    (ref,) = onnx.reference.ReferenceEvaluator(model).run(None, dict(zip("abc", feeds)))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
