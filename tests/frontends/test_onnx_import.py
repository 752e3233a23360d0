"""from_onnx on hand-built models: params, symbolic dims, input_shapes, shape folding, names,
external data, variadic ops, function bodies and control flow."""

import numpy as np
import onnx.reference
import pytest
from onnx import TensorProto, helper, numpy_helper

from kernforge.frontends import from_onnx
from kernforge.ir import interpret, verify

F = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=17, **kw):
    graph = helper.make_graph(nodes, kw.pop("name", "g"), inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def ops(module) -> list[str]:
    return [n.op for n in module.main.nodes]


def test_initializers_become_params_even_when_listed_as_inputs():
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], [vi("x", [2, 4]), vi("w", [4, 3])], [vi("y", [2, 3])],
              inits=[numpy_helper.from_array(w, "w")])
    module = from_onnx(m)
    verify(module)
    assert module.main.input_names == ["x"]
    np.testing.assert_array_equal(module.params["w"].data, w)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(interpret(module, {"x": x})["y"], x @ w, rtol=1e-6)


def test_dim_param_becomes_a_sanitized_symbol():
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["batch size", 3])], [vi("y", ["batch size", 3])])
    module = from_onnx(m)
    assert module.main.args[0].type.shape == ("batch_size", 3)
    for n in (1, 5):
        assert interpret(module, {"x": -np.ones((n, 3), np.float32)})["y"].shape == (n, 3)


def test_input_shapes_override_makes_symbolic_dims_static():
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 3])], [vi("y", ["N", 3])])
    module = from_onnx(m, input_shapes={"x": [7, 3]})
    assert module.main.args[0].type.shape == (7, 3)
    assert module.main.outputs[0].type.shape == (7, 3)


def shape_subgraph_model(batch_dim):
    """y = Reshape(x, Concat(Gather(Shape(x), 0), [-1])): the usual exporter flatten."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus_one")]
    return model(nodes, [vi("x", [batch_dim, 2, 3])], [vi("y", [batch_dim, 6])], inits=inits)


def test_shape_subgraphs_fold_into_attributes():
    module = from_onnx(shape_subgraph_model(4))
    assert ops(module) == ["reshape"]
    assert module.main.nodes[0].attrs["shape"] == (4, -1)
    x = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    np.testing.assert_array_equal(interpret(module, [x])["y"], x.reshape(4, 6))


def test_shape_subgraphs_fold_once_input_shapes_fix_the_dims():
    module = from_onnx(shape_subgraph_model("batch"), input_shapes={"x": [2, 2, 3]})
    assert ops(module) == ["reshape"]


def test_names_are_sanitized_and_outputs_keep_their_names():
    nodes = [helper.make_node("Relu", ["in:0"], ["hidden/relu:0"]),
             helper.make_node("Neg", ["hidden/relu:0"], ["9out"])]
    module = from_onnx(model(nodes, [vi("in:0", [2])], [vi("9out", [2])]))
    verify(module)
    assert module.main.input_names == ["in_0"]
    assert [n.results[0].name for n in module.main.nodes] == ["hidden_relu_0", "v9out"]
    assert list(interpret(module, [np.ones(2, np.float32)])) == ["v9out"]


def test_outputs_that_alias_inputs_or_each_other_get_their_own_values():
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["b"]),
             helper.make_node("Identity", ["b"], ["c"])]
    module = from_onnx(model(nodes, [vi("x", [2])], [vi("a", [2]), vi("b", [2]), vi("c", [2])]))
    verify(module)
    outs = interpret(module, [np.array([-1, 1], np.float32)])
    assert list(outs) == ["a", "b", "c"]
    np.testing.assert_array_equal(outs["c"], [0, 1])


def test_variadic_sum_and_mean_are_chains_of_binary_ops():
    nodes = [helper.make_node("Sum", ["a", "b", "c"], ["s"]), helper.make_node("Mean", ["a", "b", "c"], ["m"])]
    module = from_onnx(model(nodes, [vi("a", [2, 3]), vi("b", [3]), vi("c", [1])], [vi("s", [2, 3]), vi("m", [2, 3])]))
    assert ops(module) == ["add", "add", "add", "add", "div"]
    a, b, c = np.ones((2, 3), np.float32), np.arange(3, dtype=np.float32), np.array([2], np.float32)
    outs = interpret(module, [a, b, c])
    np.testing.assert_allclose(outs["s"], a + b + c)
    np.testing.assert_allclose(outs["m"], (a + b + c) / 3)


def test_dropout_and_identity_drop_out():
    nodes = [helper.make_node("Dropout", ["x"], ["d"], ratio=0.5), helper.make_node("Identity", ["d"], ["i"]),
             helper.make_node("Relu", ["i"], ["y"])]
    module = from_onnx(model(nodes, [vi("x", [3])], [vi("y", [3])], opset=11))
    assert ops(module) == ["relu"]


def test_old_opset_softmax_coerces_to_2d():
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=1)]
    module = from_onnx(model(nodes, [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])], opset=7))
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    y = interpret(module, [x])["y"]
    np.testing.assert_allclose(y.reshape(2, -1).sum(axis=1), [1, 1], rtol=1e-6)


def test_ops_without_a_converter_import_their_function_body():
    nodes = [helper.make_node("MeanVarianceNormalization", ["x"], ["y"], axes=[0, 2])]
    module = from_onnx(model(nodes, [vi("x", [3, 2, 4])], [vi("y", [3, 2, 4])]))
    assert "MeanVarianceNormalization" not in ops(module)
    x = np.random.default_rng(0).standard_normal((3, 2, 4)).astype(np.float32)
    want = (x - x.mean(axis=(0, 2), keepdims=True)) / np.sqrt(x.var(axis=(0, 2), keepdims=True) + 1e-9)
    np.testing.assert_allclose(interpret(module, [x])["y"], want, rtol=1e-4, atol=1e-5)


def test_if_with_a_constant_condition_inlines_its_branch():
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [vi("t", [2])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [vi("e", [2])])
    nodes = [helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=other)]
    cond = numpy_helper.from_array(np.array(False), "cond")
    module = from_onnx(model(nodes, [vi("x", [2])], [vi("y", [2])], inits=[cond]))
    assert ops(module) == ["neg"]


def test_models_load_from_path_bytes_and_external_data(tmp_path):
    w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], [vi("x", [1, 64])], [vi("y", [1, 64])],
              inits=[numpy_helper.from_array(w, "w")])
    path, serialized = tmp_path / "model.onnx", m.SerializeToString()
    onnx.save(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
              size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    x = np.ones((1, 64), np.float32)
    for source in (path, str(path), serialized):
        np.testing.assert_allclose(interpret(from_onnx(source), [x])["y"], x @ w, rtol=1e-5)


@pytest.mark.parametrize("opset", [7, 9, 11, 13, 18, onnx.defs.onnx_opset_version()])
def test_a_small_cnn_imports_at_every_opset(opset):
    rng = np.random.default_rng(opset)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Softmax", ["f"], ["y"], axis=1)]
    m = model(nodes, [vi("x", [1, 3, 8, 8])], [vi("y", [1, 64])], inits=[w], opset=opset)
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    (want,) = onnx.reference.ReferenceEvaluator(m).run(None, {"x": x})
    np.testing.assert_allclose(interpret(from_onnx(m), [x])["y"], want, rtol=1e-4, atol=1e-6)


def test_sparse_constants_and_initializers_are_densified():
    values = helper.make_tensor("v", F, [2], [5.0, 7.0])
    sparse = helper.make_sparse_tensor(values, helper.make_tensor("i", TensorProto.INT64, [2], [1, 3]), [4])
    nodes = [helper.make_node("Constant", [], ["c"], sparse_value=sparse), helper.make_node("Add", ["x", "c"], ["y"])]
    m = model(nodes, [vi("x", [4])], [vi("y", [4])])
    np.testing.assert_array_equal(interpret(from_onnx(m), [np.ones(4, np.float32)])["y"], [1, 6, 1, 8])
