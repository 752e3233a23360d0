"""The 9 light_*.onnx models shipped in the onnx wheel: their reference outputs, and the same
architectures with seeded random weights against onnxruntime (the shipped weights are constants)."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from kernforge.frontends import from_onnx
from kernforge.ir import interpret, parse_module, verify

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = sorted(p.stem for p in LIGHT.glob("light_*.onnx"))


def data_input(model: onnx.ModelProto) -> onnx.ValueInfoProto:
    inits = {t.name for t in model.graph.initializer}
    return next(i for i in model.graph.input if i.name not in inits)


def ramp_input(model: onnx.ModelProto) -> np.ndarray:
    """The input BackendTest uses for these models: arange / n in the input's shape."""
    shape = [d.dim_value for d in data_input(model).type.tensor_type.shape.dim]
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def test_all_nine_light_models_are_found():
    assert len(MODELS) == 9, MODELS


@pytest.mark.parametrize("name", MODELS)
def test_light_model_matches_its_reference_output(name):
    model = onnx.load(LIGHT / f"{name}.onnx")
    expected = numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"{name}_output_0.pb")))
    module = from_onnx(model)
    verify(module)
    assert str(parse_module(str(module))) == str(module)  # the imported IR round-trips through text
    (out,) = interpret(module, [ramp_input(model)]).values()
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)


def random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Every weight (an initializer, or a ConstantOfShape of an initializer shape) becomes seeded
    random data of its shape, scaled so that activations stay in a sane range."""
    rng = np.random.default_rng(seed)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    shapes = {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}
    variances = {n.input[4] for n in out.graph.node if n.op_type == "BatchNormalization"}
    weights, keep = {}, []
    for node in out.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            weights[node.output[0]] = [int(d) for d in shapes[node.input[0]]]
        else:
            keep.append(node)
    for t in out.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT:
            weights[t.name] = list(t.dims)
    del out.graph.node[:]
    out.graph.node.extend(keep)
    used = {i for node in keep for i in node.input}
    kept = [t for t in out.graph.initializer if t.name not in weights and t.name in used]
    inputs = [i for i in out.graph.input if i.name in used or i.name in weights]
    del out.graph.input[:]
    out.graph.input.extend(inputs)
    del out.graph.initializer[:]
    out.graph.initializer.extend(kept)
    declared = {i.name for i in out.graph.input}
    for name, shape in weights.items():
        t = out.graph.initializer.add()  # filled in place: VGG-19's weights are 576 MB, copies add up
        t.name, t.data_type = name, onnx.TensorProto.FLOAT
        t.dims.extend(shape)
        t.raw_data = _random(rng, shape, name in variances).tobytes()
        if name not in declared:  # IR version 3 lists every initializer among the graph inputs
            out.graph.input.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape))
    return out


def _random(rng, shape, positive: bool) -> np.ndarray:
    """He-uniform weights (float32 draws: VGG-19 alone has 144M of them); positive BN variances."""
    u = rng.random(shape, dtype=np.float32)
    if positive:
        u += np.float32(0.5)
        return u
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
    u -= np.float32(0.5)  # in place, for the same reason
    u *= np.float32(2 * np.sqrt(6.0 / fan_in) if fan_in else 0.2)
    return u


def random_weights_case(name: str):
    """The light architecture with seeded random weights, a random input, and onnxruntime's output
    (checked non-degenerate: the shipped constant weights give uniform outputs)."""
    import onnxruntime as ort

    model = random_weights(onnx.load(LIGHT / f"{name}.onnx"))
    x = np.random.default_rng(1).standard_normal(ramp_input(model).shape).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, {data_input(model).name: x})
    assert np.ptp(expected) > 0.01 * np.abs(expected).max()
    return model, x, expected


@pytest.mark.parametrize("name", MODELS)
def test_light_architecture_with_random_weights_matches_onnxruntime(name):
    model, x, expected = random_weights_case(name)
    (out,) = interpret(from_onnx(model), [x]).values()
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-4)
