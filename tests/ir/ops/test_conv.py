import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

# im2col + BLAS sums the C*K products in another order than onnxruntime's kernels, so float32
# results differ by a few ulps times the reduction length.
TOL = {"rtol": 1e-4, "atol": 1e-5}

SPATIAL = {1: (9,), 2: (7, 8), 3: (5, 6, 4)}
ONNX_NAMES = {"strides": "strides", "pads": "pads", "dilations": "dilations", "group": "group",
              "output_padding": "output_padding"}


def conv(n, c, o, k, group=1, bias=True, transpose=False, id="", **attrs):
    """A conv case on a [2, c, *SPATIAL[n]] input with an o-channel result and kernel k."""
    x = rand(2, c, *SPATIAL[n])
    w = rand(c, o // group, *k, seed=1) if transpose else rand(o, c // group, *k, seed=1)
    inputs = [x, w] + ([rand(o, seed=2)] if bias else [])
    attrs = dict(attrs, **({"group": group} if group != 1 else {}))
    name = f"conv_transpose{n}d" if transpose else f"conv{n}d"
    return Case(name, inputs, attrs, onnx="ConvTranspose" if transpose else "Conv",
                onnx_attrs={ONNX_NAMES[a]: v for a, v in attrs.items()}, id=f"{name}-{id}", **TOL)


CASES = [
    conv(2, 3, 4, (3, 3), id="basic"),
    conv(2, 3, 4, (3, 3), bias=False, strides=[2, 2], id="stride2-nobias"),
    conv(2, 3, 4, (3, 2), pads=[1, 0, 2, 1], id="asym-pads"),
    conv(2, 3, 4, (3, 3), dilations=[2, 1], pads=[2, 1, 2, 1], id="dilated"),
    conv(2, 4, 6, (3, 3), group=2, strides=[1, 2], pads=[1, 1, 1, 1], id="groups"),
    conv(2, 4, 8, (3, 3), group=4, pads=[1, 1, 1, 1], id="depthwise-x2"),
    conv(2, 4, 4, (1, 1), id="pointwise"),
    conv(1, 3, 5, (3,), strides=[2], pads=[1, 2], dilations=[2], id="all-attrs"),
    conv(3, 2, 4, (3, 2, 2), strides=[1, 2, 1], pads=[1, 0, 1, 1, 1, 0], id="all-attrs"),
    Case("conv2d", [rand(1, 3, 6, 6, dtype=np.float16), rand(4, 3, 3, 3, dtype=np.float16, seed=1)],
         torch=lambda x, w: __import__("torch").nn.functional.conv2d(x.float(), w.float()).half(),
         id="conv2d-f16", rtol=2e-3, atol=2e-3),
    conv(2, 3, 4, (3, 3), transpose=True, id="basic"),
    conv(2, 3, 4, (3, 3), transpose=True, strides=[2, 2], output_padding=[1, 0], id="stride2-outpad"),
    conv(2, 3, 4, (3, 2), transpose=True, bias=False, pads=[1, 0, 2, 1], id="asym-pads"),
    conv(2, 4, 6, (3, 3), transpose=True, group=2, strides=[2, 1], dilations=[1, 2], pads=[1, 1, 0, 1],
         id="groups-dilated"),
    conv(2, 4, 4, (2, 2), transpose=True, group=4, strides=[2, 2], id="depthwise"),
    conv(1, 3, 2, (4,), transpose=True, strides=[3], pads=[1, 2], output_padding=[2], id="all-attrs"),
    conv(3, 2, 3, (2, 3, 2), transpose=True, strides=[2, 1, 2], pads=[0, 1, 1, 1, 1, 0], id="all-attrs"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


@pytest.mark.parametrize("name, types, attrs", [
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 4, 3, 3])], {"group": 2}),  # weight dim 1 != 6/2
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 2, 3, 3])], {"group": 4}),  # 6 channels, 4 groups
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([3, 3, 3, 3])], {"group": 2}),  # 3 outputs, 2 groups
    ("conv2d", [tensor([6, 8, 8]), tensor([4, 6, 3, 3])], {}),
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 6, 3])], {}),
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 6, 3, 3]), tensor([5])], {}),
    ("conv2d", [tensor([1, 6, 2, 2]), tensor([4, 6, 3, 3])], {}),  # kernel larger than input
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 6, 3, 3])], {"pads": [1, 1]}),
    ("conv2d", [tensor([1, 6, 8, 8]), tensor([4, 6, 3, 3])], {"strides": [0, 1]}),
    ("conv2d", [tensor([1, 6, 8, 8], "i8"), tensor([4, 6, 3, 3], "i8")], {}),
    ("conv1d", [tensor([1, 6, 8, 8]), tensor([4, 6, 3, 3])], {}),
    ("conv_transpose2d", [tensor([1, 6, 8, 8]), tensor([4, 3, 3, 3])], {}),
    ("conv_transpose2d", [tensor([1, 6, 8, 8]), tensor([6, 3, 3, 3])], {"group": 4}),
    ("conv_transpose2d", [tensor([1, 6, 8, 8]), tensor([6, 3, 3, 3])], {"output_padding": [1, 1]}),
])
def test_bad_operands_raise(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)


def test_symbolic_batch_and_flops():
    x, w = tensor(["batch", 3, 224, 224]), tensor([64, 3, 7, 7])
    (out,) = infer("conv2d", [x, w], strides=[2, 2], pads=[3, 3, 3, 3])
    assert out.shape == ("batch", 64, 112, 112)
    attrs = get_op("conv2d").check_attrs({"strides": [2, 2], "pads": [3, 3, 3, 3]})
    assert get_op("conv2d").count_flops([x, w], [out], attrs) == 2 * 64 * 112 * 112 * 3 * 49
    (out,) = infer("conv2d", [tensor(["n", 8, "h", 9]), tensor([4, 2, 3, 3])], group=4)
    assert out.shape == ("n", 4, None, 7)
    (out,) = infer("conv_transpose2d", [tensor(["n", 8, 5, 5]), tensor([8, 2, 4, 4])],
                   strides=[2, 2], pads=[1, 1, 1, 1], group=2)
    assert out.shape == ("n", 4, 10, 10)
    x, w = tensor([1, 8, 5, 5]), tensor([8, 2, 4, 4])
    assert get_op("conv_transpose2d").count_flops([x, w], [out], {}) == 2 * 8 * 25 * 2 * 16


def test_reference_handles_a_resnet_stem_quickly():
    x, w = rand(1, 3, 224, 224), rand(64, 3, 7, 7, seed=1)
    opdef = get_op("conv2d")
    (y,) = opdef.evaluate([x, w], opdef.check_attrs({"strides": [2, 2], "pads": [3, 3, 3, 3]}))
    assert y.shape == (1, 64, 112, 112) and y.dtype == np.float32
