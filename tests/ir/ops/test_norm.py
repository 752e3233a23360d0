import numpy as np
import pytest

from kernforge.errors import InvalidAttributeError, TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

X3 = rand(2, 5, 6, lo=-3.0, hi=3.0)
NCHW = rand(2, 4, 3, 5, lo=-3.0, hi=3.0)
C4 = [rand(4, seed=s) for s in range(3)]
VAR4 = rand(4, seed=4, lo=0.1, hi=2.0)
S6, B6 = rand(6, seed=5), rand(6, seed=6)
S56 = rand(5, 6, seed=7)
H = rand(3, 16, dtype=np.float16, lo=-3.0, hi=3.0)
HS = rand(16, dtype=np.float16, seed=8)
# float16 results are rounded once from a float32 computation: allow about one f16 ulp.
F16_TOL = {"rtol": 2e-3, "atol": 4e-3}


def torch_f():
    import torch.nn.functional as F

    return F


def lrn_case(x, size, **attrs):
    return Case("lrn", [x], {"size": size, **attrs}, onnx="LRN", onnx_attrs={"size": size, **attrs},
                id=f"lrn-size{size}{'-attrs' if attrs else ''}")


CASES = [
    Case("layer_norm", [X3, S6, B6], onnx="LayerNormalization"),
    Case("layer_norm", [X3, S56, S56 + 1], {"axis": 1, "epsilon": 1e-3}, onnx="LayerNormalization",
         onnx_attrs={"axis": 1, "epsilon": 1e-3}, id="layer_norm-axis1-eps"),
    Case("layer_norm", [X3, S6], {"axis": -1}, onnx="LayerNormalization", id="layer_norm-no-bias"),
    Case("layer_norm", [X3], torch=lambda x: torch_f().layer_norm(x, (6,)), id="layer_norm-no-scale"),
    Case("layer_norm", [H, HS], torch=lambda x, s: torch_f().layer_norm(x.float(), (16,), s.float()).half(),
         id="layer_norm-f16", **F16_TOL),
    Case("rms_norm", [X3, S6], torch=lambda x, s: torch_f().rms_norm(x, (6,), s, 1e-6)),
    Case("rms_norm", [X3], {"axis": 1, "epsilon": 1e-3}, torch=lambda x: torch_f().rms_norm(x, (5, 6), eps=1e-3),
         id="rms_norm-axis1-no-scale"),
    Case("rms_norm", [H, HS], torch=lambda x, s: torch_f().rms_norm(x.float(), (16,), s.float(), 1e-6).half(),
         id="rms_norm-f16", **F16_TOL),
    Case("batch_norm", [NCHW, *C4, VAR4], onnx="BatchNormalization"),
    Case("batch_norm", [rand(3, 4), *C4, VAR4], {"epsilon": 1e-2}, onnx="BatchNormalization",
         onnx_attrs={"epsilon": 1e-2}, id="batch_norm-2d-eps"),
    Case("instance_norm", [NCHW, C4[0], C4[1]], onnx="InstanceNormalization"),
    Case("instance_norm", [X3[:, :4], C4[0], C4[1]], {"epsilon": 1e-2}, onnx="InstanceNormalization",
         onnx_attrs={"epsilon": 1e-2}, id="instance_norm-3d-eps"),
    Case("group_norm", [NCHW, *C4[:2]], {"num_groups": 2},
         torch=lambda x, s, b: torch_f().group_norm(x, 2, s, b, 1e-5)),
    Case("group_norm", [rand(3, 6), S6, B6], {"num_groups": 3, "epsilon": 1e-3},
         torch=lambda x, s, b: torch_f().group_norm(x, 3, s, b, 1e-3), id="group_norm-2d"),
    Case("group_norm", [NCHW, *C4[:2]], {"num_groups": 4},
         torch=lambda x, s, b: torch_f().group_norm(x, 4, s, b, 1e-5), id="group_norm-per-channel-groups"),
    lrn_case(NCHW, 3),
    # onnxruntime only runs odd sizes. For even ones ONNX's window reaches one channel further forward
    # than back, torch's one further back: torch on channel-flipped x is the ONNX definition.
    Case("lrn", [NCHW], {"size": 2}, id="lrn-size2",
         torch=lambda x: torch_f().local_response_norm(x.flip(1), 2, 1e-4, 0.75, 1.0).flip(1)),
    lrn_case(NCHW, 5, alpha=0.1, beta=0.5, bias=2.0),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_norms_accept_symbolic_dims():
    x = tensor(["batch", "c", None, 8], "f16")
    vec = tensor(["c"], "f16")
    assert infer("layer_norm", [x, tensor([8], "f16")]) == [x]
    assert infer("group_norm", [x, vec, vec], num_groups=4) == [x]
    assert infer("batch_norm", [x, *[tensor([7])] * 4]) == [x]  # params in f32 next to an f16 x


@pytest.mark.parametrize("name, types, attrs, match", [
    ("layer_norm", [tensor([2, 5, 6]), tensor([5])], {}, "scale shape"),
    ("layer_norm", [tensor([2, 5, 6]), tensor([6]), tensor([2, 5, 6])], {}, "bias shape"),
    ("layer_norm", [tensor([2, 6]), tensor([6], "f16")], {}, "dtypes differ"),
    ("layer_norm", [tensor([2, 6])], {"axis": 2}, "out of range"),
    ("rms_norm", [tensor([2, 6], "i32")], {}, "float"),
    ("batch_norm", [tensor([2, 4, 3]), *[tensor([4])] * 3, tensor([3])], {}, "var must have shape"),
    ("batch_norm", [tensor([4]), *[tensor([4])] * 4], {}, "rank >= 2"),
    ("instance_norm", [tensor([2, 4]), tensor([4]), tensor([4])], {}, "rank >= 3"),
    ("instance_norm", [tensor([2, 4, 3]), tensor([3]), tensor([4])], {}, "scale must have shape"),
    ("group_norm", [tensor([2, 6, 3]), tensor([6]), tensor([6])], {"num_groups": 4}, "6 channels"),
    ("group_norm", [tensor([2, 6, 3]), tensor([6]), tensor([6])], {"num_groups": 0}, "num_groups"),
    ("group_norm", [tensor([2, 6, 3]), tensor([3]), tensor([3])], {"num_groups": 3}, "scale must have shape"),
    ("lrn", [tensor([2, 6, 3])], {"size": 0}, "size"),
    ("lrn", [tensor([2, 6])], {"size": 3}, "rank >= 3"),
])
def test_bad_operands_raise(name, types, attrs, match):
    with pytest.raises(TypeInferenceError, match=match):
        infer(name, types, **attrs)


def test_required_attributes():
    with pytest.raises(InvalidAttributeError, match="num_groups"):
        get_op("group_norm").check_attrs({})
    with pytest.raises(InvalidAttributeError, match="size"):
        get_op("lrn").check_attrs({})
