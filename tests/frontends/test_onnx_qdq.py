"""Models quantized by onnxruntime's own quantizer (quantize_static: QDQ per tensor and per channel, and
QOperator with QLinearMatMul / QLinearAdd): imported with their int8 weights kept as #quant encodings
(quant_dense), compiled, and compared with onnxruntime."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import kernforge

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")


def float_mlp(path, rng):
    """MatMul + bias + Relu, MatMul: a float32 model for the quantizer."""
    w1 = numpy_helper.from_array((rng.standard_normal((64, 32)) * 0.2).astype(np.float32), "w1")
    b1 = numpy_helper.from_array((rng.standard_normal(32) * 0.1).astype(np.float32), "b1")
    w2 = numpy_helper.from_array((rng.standard_normal((32, 16)) * 0.2).astype(np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])], [w1, b1, w2])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


class Calibration(quantization.CalibrationDataReader):
    def __init__(self, rng):
        self.sets = iter([{"x": rng.standard_normal((4, 64)).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.sets, None)


def run_ort(path, x, optimize: bool):
    opts = ort.SessionOptions()
    if not optimize:  # the graph as written: ONNX's definition of each quantized op
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.mark.parametrize("fmt, per_channel", [("QDQ", False), ("QDQ", True), ("QOperator", False)])
def test_onnxruntime_quantized_model_keeps_int8_weights_and_matches(tmp_path, fmt, per_channel):
    rng = np.random.default_rng(0)
    float_mlp(tmp_path / "f.onnx", rng)
    quantization.quantize_static(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), Calibration(rng),
                                 quant_format=getattr(quantization.QuantFormat, fmt), per_channel=per_channel)
    cm = kernforge.compile(str(tmp_path / "q.onnx"))
    assert cm.ir().count("quant_dense(") == 2 and "#quant<bits=8" in cm.ir()  # int8 weights, not float32
    x = rng.standard_normal((4, 64)).astype(np.float32)
    (got,) = cm.run([x]).values()
    np.testing.assert_allclose(got, run_ort(tmp_path / "q.onnx", x, optimize=False), rtol=1e-5, atol=1e-5)
    # onnxruntime's fused int8 kernels requantize with their own rounding: a few output steps apart
    y_scale = float(numpy_helper.to_array(next(t for t in onnx.load(str(tmp_path / "q.onnx")).graph.initializer
                                               if t.name.startswith("y_scale"))))
    assert np.abs(got - run_ort(tmp_path / "q.onnx", x, optimize=True)).max() <= 4 * y_scale + 1e-6


def test_onnxruntime_dynamic_quantization_imports_and_matches(tmp_path):
    """quantize_dynamic: int8 weights through MatMulInteger, activations quantized at run time by
    DynamicQuantizeLinear; the weights stay int8 constants in kernforge's IR."""
    rng = np.random.default_rng(1)
    float_mlp(tmp_path / "f.onnx", rng)
    quantization.quantize_dynamic(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"))
    ops = {n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops
    cm = kernforge.compile(str(tmp_path / "q.onnx"))
    assert "matmul_integer(" in cm.ir() and "xi8>" in cm.ir()
    x = rng.standard_normal((4, 64)).astype(np.float32)
    (got,) = cm.run([x]).values()
    np.testing.assert_allclose(got, run_ort(tmp_path / "q.onnx", x, optimize=False), rtol=1e-5, atol=1e-5)
