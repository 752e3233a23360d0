import numpy as np
import pytest

from kernforge.errors import InvalidAttributeError, TypeInferenceError
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

X = rand(2, 3, 4, lo=-4.0, hi=4.0)
WIDE = rand(3, 5, lo=-30.0, hi=30.0)  # exercises the overflow-safe branches of sigmoid/softplus
H = rand(4, 6, dtype=np.float16, lo=-4.0, hi=4.0)
NCHW, SLOPE_C = rand(2, 3, 2, 2), rand(3, 1, 1, seed=1, lo=0.0, hi=0.5)
# float16 results are rounded once from a float32 computation: allow about one f16 ulp.
F16_TOL = {"rtol": 2e-3, "atol": 2e-3}


def torch_f():
    import torch.nn.functional as F

    return F


CASES = [
    *[Case(op, [X], onnx=onnx) for op, onnx in [
        ("relu", "Relu"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("softplus", "Softplus"),
        ("mish", "Mish"), ("erf", "Erf"), ("selu", "Selu"), ("softsign", "Softsign"),
        ("hardswish", "HardSwish"), ("hardsigmoid", "HardSigmoid"), ("leaky_relu", "LeakyRelu"),
        ("elu", "Elu"), ("celu", "Celu"), ("gelu", "Gelu")]],
    Case("sigmoid", [WIDE], onnx="Sigmoid", id="sigmoid-wide-range"),
    Case("softplus", [WIDE], onnx="Softplus", id="softplus-wide-range"),
    Case("leaky_relu", [X], {"alpha": 0.2}, onnx="LeakyRelu", onnx_attrs={"alpha": 0.2}, id="leaky_relu-alpha"),
    Case("hardsigmoid", [X], {"alpha": 0.3, "beta": 0.4}, onnx="HardSigmoid",
         onnx_attrs={"alpha": 0.3, "beta": 0.4}, id="hardsigmoid-attrs"),
    Case("elu", [X], {"alpha": 0.5}, onnx="Elu", onnx_attrs={"alpha": 0.5}, id="elu-alpha"),
    Case("celu", [X], {"alpha": 2.0}, onnx="Celu", onnx_attrs={"alpha": 2.0}, id="celu-alpha"),
    Case("gelu", [X], {"approximate": "tanh"}, onnx="Gelu", onnx_attrs={"approximate": "tanh"}, id="gelu-tanh"),
    Case("prelu", [NCHW, SLOPE_C], onnx="PRelu", id="prelu-per-channel"),
    Case("prelu", [X, rand(4, seed=2)], onnx="PRelu", id="prelu-trailing"),
    Case("relu6", [X * 2], torch=lambda x: torch_f().relu6(x)),
    Case("silu", [X], torch=lambda x: torch_f().silu(x)),
    Case("hardtanh", [X], torch=lambda x: torch_f().hardtanh(x)),
    Case("hardtanh", [X], {"min_val": -0.5, "max_val": 2.0},
         torch=lambda x: torch_f().hardtanh(x, -0.5, 2.0), id="hardtanh-bounds"),
    Case("sigmoid", [H], torch=lambda x: x.sigmoid(), id="sigmoid-f16", **F16_TOL),
    Case("gelu", [H], torch=lambda x: torch_f().gelu(x), id="gelu-f16", **F16_TOL),
    Case("gelu", [H], {"approximate": "tanh"}, torch=lambda x: torch_f().gelu(x, approximate="tanh"),
         id="gelu-tanh-f16", **F16_TOL),
    Case("mish", [H], torch=lambda x: torch_f().mish(x), id="mish-f16", **F16_TOL),
    Case("erf", [H], torch=lambda x: x.erf(), id="erf-f16", **F16_TOL),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_activations_keep_symbolic_shape_and_dtype():
    assert infer("gelu", [tensor(["batch", None, 8], "f16")]) == [tensor(["batch", None, 8], "f16")]
    assert infer("prelu", [tensor(["n", 3, "h"]), tensor([3, 1])]) == [tensor(["n", 3, "h"])]


def test_activation_rejects_int():
    with pytest.raises(TypeInferenceError, match="float"):
        infer("relu", [tensor([4], "i32")])


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(InvalidAttributeError, match="approximate"):
        infer("gelu", [tensor([4])], approximate="fast")


@pytest.mark.parametrize("slope", [[4], [2, 1, 3, 1], [1, 3, 2]], ids=["size", "rank", "bidirectional"])
def test_prelu_slope_must_broadcast_to_x(slope):
    with pytest.raises(TypeInferenceError, match="slope"):
        infer("prelu", [tensor([2, 3, 1]), tensor(slope)])
