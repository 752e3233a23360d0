"""onnxruntime's 4-bit quantizer output (MatMulNBits) imports as quant_dense over repacked codes,
compiles, and matches onnxruntime running the same model."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kernforge
from kernforge.errors import UnsupportedOpError

ort = pytest.importorskip("onnxruntime")
quantizer = pytest.importorskip("onnxruntime.quantization.matmul_nbits_quantizer")

RNG = np.random.default_rng(0)


def float_model(k=256, n=96, rows=3):
    w = numpy_helper.from_array(RNG.standard_normal((k, n)).astype(np.float32), "w")
    b = numpy_helper.from_array(RNG.standard_normal(n).astype(np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def ort_quantized(model, symmetric: bool, block: int = 32):
    q = quantizer.MatMulNBitsQuantizer(model, block_size=block, is_symmetric=symmetric)
    q.process()
    return q.model.model


@pytest.mark.parametrize("symmetric", [False, True], ids=["asymmetric", "symmetric"])
def test_ort_quantizer_output_matches_onnxruntime(symmetric):
    model = ort_quantized(float_model(), symmetric)
    assert [n.op_type for n in model.graph.node][0] == "MatMulNBits"
    x = RNG.standard_normal((3, 256)).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    cm = kernforge.compile(model)
    assert "quant_dense(" in cm.ir() and "#quant<bits=4, group=32" in cm.ir()
    (got,) = cm.run([x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())  # float32 sums


def test_unsupported_variant_names_the_node():
    model = ort_quantized(float_model(), False)
    node = model.graph.node[0]
    for a in node.attribute:
        if a.name == "bits":
            a.i = 3
    with pytest.raises(UnsupportedOpError, match="MatMulNBits .* supported: bits 2/4/8"):
        kernforge.frontends.from_onnx(model)
