"""Benchmark and test models: the light ONNX models of the onnx wheel, with their weights made random."""

from __future__ import annotations

import numpy as np


def _random_like(shape: tuple, value: float, rng) -> np.ndarray:
    """He-style scale for weight tensors keeps deep nets finite; 1-D params jitter around their value."""
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    if value > 0:  # scales and variances must stay positive
        return value * (1.0 + 0.2 * rng.random(shape))
    return 0.05 * rng.standard_normal(shape)


def randomize_light_weights(model, seed: int = 0):
    """The light models build every weight with ConstantOfShape(one value): replace each with seeded
    random data of the same shape (BN variances stay positive), so outputs depend on the weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    shapes = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("__SHAPE")}
    rng = np.random.default_rng(seed)
    keep, new_inits = [], []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in shapes:
            value = numpy_helper.to_array(node.attribute[0].t).reshape(())
            data = _random_like(tuple(int(d) for d in shapes[node.input[0]]), float(value), rng)
            new_inits.append(numpy_helper.from_array(data.astype(np.float32), node.output[0]))
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {i for n in keep for i in n.input}
    inits = [i for i in model.graph.initializer if i.name in used or not i.name.endswith("__SHAPE")]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits + new_inits)
    consts = {i.name for i in model.graph.initializer} | set(shapes)
    real_inputs = [i for i in model.graph.input if i.name not in consts]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    model.ir_version = max(model.ir_version, 4)  # from IR 4 on, initializers need not be graph inputs
    return model
