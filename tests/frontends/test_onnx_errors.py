"""Every error path of the ONNX frontend gives a kernforge error with a precise message."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from kernforge.errors import (
    ConstantRequiredError,
    InputError,
    KernforgeError,
    ModelError,
    UnsupportedOpError,
)
from kernforge.frontends import from_onnx
from kernforge.ir import interpret

F = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def relu_model(shape=("N", 3)):
    return model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", list(shape))], [vi("y", list(shape))])


def test_an_invalid_model_fails_the_checker_with_its_message():
    bad = model([helper.make_node("Relu", ["x", "extra"], ["y"])], [vi("x", [2])], [vi("y", [2])])
    with pytest.raises(ModelError, match="(?s)invalid ONNX model: .*Relu"):
        from_onnx(bad)


def test_an_undefined_value_is_reported_by_the_checker():
    bad = model([helper.make_node("Relu", ["nowhere"], ["y"])], [vi("x", [2])], [vi("y", [2])])
    with pytest.raises(ModelError, match="nowhere"):
        from_onnx(bad)


def test_unsupported_ops_are_all_listed_with_opset_and_node_name():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="ok"),
             helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["b"], name="nms_1"),
             helper.make_node("Unique", ["a"], ["c"], name="unique_7")]
    m = model(nodes, [vi("x", [4]), vi("boxes", [1, 4, 4]), vi("scores", [1, 1, 4])],
              [vi("b", [None, 3]), vi("c", [None])])
    m.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    with pytest.raises(UnsupportedOpError) as info:
        from_onnx(m)
    message = str(info.value)
    assert "2 unsupported ONNX node(s)" in message
    assert "NonMaxSuppression (opset 17) node 'nms_1'" in message
    assert "Unique (opset 17) node 'unique_7'" in message


def test_an_unknown_domain_is_unsupported():
    node = helper.make_node("FusedMatMul", ["x", "x"], ["y"], domain="com.microsoft", name="fmm")
    m = helper.make_model(helper.make_graph([node], "g", [vi("x", [2, 2])], [vi("y", [2, 2])]),
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(UnsupportedOpError, match="com.microsoft.FusedMatMul \\(opset 1\\) node 'fmm'"):
        from_onnx(m)


def test_a_missing_input_is_named():
    module = from_onnx(relu_model())
    with pytest.raises(InputError, match="missing \\['x'\\]"):
        interpret(module, {"z": np.zeros((1, 3), np.float32)})


def test_a_shape_mismatch_at_run_time_names_the_input():
    module = from_onnx(relu_model((2, 3)))
    with pytest.raises(InputError, match="input 'x' has shape \\[2, 4\\]"):
        interpret(module, [np.zeros((2, 4), np.float32)])


def test_input_shapes_that_contradict_the_model_name_the_input():
    with pytest.raises(InputError, match="input 'x': input_shapes gives rank 3"):
        from_onnx(relu_model(), input_shapes={"x": [1, 2, 3]})
    with pytest.raises(InputError, match="input 'x': input_shapes gives \\[5, 4\\].*\\(dim 1\\)"):
        from_onnx(relu_model(), input_shapes={"x": [5, 4]})


def test_input_shapes_for_an_unknown_input_names_it():
    with pytest.raises(InputError, match="\\['nope'\\], which are not model inputs"):
        from_onnx(relu_model(), input_shapes={"nope": [1, 3]})


def test_a_dynamic_attribute_input_names_the_node_and_input():
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape_1")
    m = model([node], [vi("x", [2, 3]), vi("shape", [2], TensorProto.INT64)], [vi("y", [3, 2])])
    with pytest.raises(ConstantRequiredError, match="Reshape \\(opset 17\\) node 'reshape_1': input 1 \\('shape'\\)"):
        from_onnx(m)


def test_run_time_shape_arithmetic_on_symbolic_dims_asks_for_input_shapes():
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape_of_x"), helper.make_node("Cast", ["s"], ["y"], to=F)]
    m = model(nodes, [vi("x", ["batch", 3])], [vi("y", [2])])
    with pytest.raises(UnsupportedOpError, match="shape \\[\\?batch, 3\\] of 'x'.*input_shapes"):
        from_onnx(m)


def test_an_unsupported_element_type_names_the_input():
    m = model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [2], TensorProto.STRING)],
              [vi("y", [2], TensorProto.STRING)])
    with pytest.raises(UnsupportedOpError, match="input 'x': ONNX element type .*STRING"):
        from_onnx(m)


def test_an_unreadable_source_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot load"):
        from_onnx(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model")
    with pytest.raises(ModelError, match="cannot load"):
        from_onnx(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="expected an ONNX model"):
        from_onnx(42)


def test_an_opset_newer_than_onnx_knows_is_refused():
    m = relu_model()
    m.opset_import[0].version = 999
    with pytest.raises(KernforgeError):
        from_onnx(m)


def test_errors_inside_a_node_name_it():
    w = numpy_helper.from_array(np.zeros((5, 7), np.float32), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [vi("x", [2, 3])], [vi("y", [2, 7])],
              inits=[w])
    m.graph.output[0].type.tensor_type.shape.Clear()
    with pytest.raises(KernforgeError, match="MatMul \\(opset 17\\) node 'mm'"):
        from_onnx(m)
