import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

X1, X2, X3 = rand(2, 3, 11), rand(2, 3, 9, 10), rand(1, 2, 5, 6, 7)


def pool(name, x, id, **attrs):
    onnx = {"max_pool": "MaxPool", "avg_pool": "AveragePool"}[name]
    onnx_attrs = {k: int(v) if isinstance(v, bool) else v for k, v in attrs.items()}
    # Averages are summed in another order than onnxruntime's, so allow float32 rounding.
    return Case(name, [x], attrs, onnx=onnx, onnx_attrs=onnx_attrs, id=f"{name}-{id}", rtol=1e-5, atol=1e-6)


CASES = [
    pool("max_pool", X2, "resnet", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    pool("max_pool", X2, "asym-pads", kernel_shape=[3, 2], pads=[0, 1, 2, 0]),
    pool("max_pool", X2, "dilated", kernel_shape=[2, 3], dilations=[2, 2], strides=[1, 2]),
    pool("max_pool", X2, "ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=True),
    pool("max_pool", X2, "ceil-pads", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=True),
    pool("max_pool", X1, "1d", kernel_shape=[4], strides=[3], pads=[1, 2], ceil_mode=True),
    pool("max_pool", X3, "3d", kernel_shape=[2, 3, 2], strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 1]),
    pool("max_pool", rand(1, 2, 6, 6, dtype=np.int8, lo=-128, hi=127), "int8", kernel_shape=[2, 2], pads=[1, 1, 0, 0]),
    Case("max_pool", [rand(1, 2, 6, 6, dtype=np.float16)], {"kernel_shape": [3, 3], "strides": [2, 2]},
         torch=lambda x: __import__("torch").nn.functional.max_pool2d(x, 3, 2), id="max_pool-f16"),
    pool("avg_pool", X2, "basic", kernel_shape=[3, 3]),
    pool("avg_pool", X2, "pads-exclude", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 2, 2, 1]),
    pool("avg_pool", X2, "pads-include", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 2, 2, 1], count_include_pad=True),
    pool("avg_pool", X2, "ceil", kernel_shape=[2, 3], strides=[2, 2], ceil_mode=True),
    pool("avg_pool", X2, "ceil-pads-include", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
         ceil_mode=True, count_include_pad=True),
    pool("avg_pool", X1, "1d", kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=True),
    pool("avg_pool", X3, "3d", kernel_shape=[2, 2, 3], strides=[1, 2, 2], pads=[1, 1, 0, 0, 1, 1], count_include_pad=True),
    Case("avg_pool", [rand(1, 2, 6, 6, dtype=np.float16)], {"kernel_shape": [2, 2], "strides": [2, 2]},
         torch=lambda x: __import__("torch").nn.functional.avg_pool2d(x.float(), 2).half(), id="avg_pool-f16",
         rtol=1e-3, atol=1e-3),
    Case("global_avg_pool", [X2], onnx="GlobalAveragePool", rtol=1e-5, atol=1e-6),
    Case("global_avg_pool", [X3], onnx="GlobalAveragePool", rtol=1e-5, atol=1e-6, id="global_avg_pool-3d"),
    Case("global_max_pool", [X2], onnx="GlobalMaxPool"),
    Case("global_max_pool", [X1], onnx="GlobalMaxPool", id="global_max_pool-1d"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


@pytest.mark.parametrize("name, types, attrs", [
    ("max_pool", [tensor([1, 3, 8])], {"kernel_shape": [2, 2]}),  # rank differs from kernel
    ("max_pool", [tensor([1, 3, 8, 8])], {"kernel_shape": [2, 2], "strides": [1]}),
    ("max_pool", [tensor([1, 3, 8, 8])], {"kernel_shape": [2, 2], "pads": [2, 0, 0, 0]}),  # pad >= kernel
    ("max_pool", [tensor([1, 3, 2, 2])], {"kernel_shape": [3, 3]}),  # window larger than input
    ("max_pool", [tensor([1, 3, 8, 8], "bool")], {"kernel_shape": [2, 2]}),
    ("avg_pool", [tensor([1, 3, 8, 8], "i32")], {"kernel_shape": [2, 2]}),
    ("global_avg_pool", [tensor([3, 8])], {}),
])
def test_bad_operands_raise(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)


def test_symbolic_dims_and_flops():
    x = tensor(["batch", 64, 112, 112])
    (out,) = infer("max_pool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    assert out.shape == ("batch", 64, 56, 56)
    attrs = get_op("max_pool").check_attrs({"kernel_shape": [3, 3]})
    assert get_op("max_pool").count_flops([x], [out], attrs) == 64 * 56 * 56 * 9
    (out,) = infer("avg_pool", [tensor(["n", 4, "h", 7])], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=True)
    assert out.shape == ("n", 4, None, 4)
    (out,) = infer("global_avg_pool", [tensor(["n", 4, 7, 7, 7])])
    assert out.shape == ("n", 4, 1, 1, 1)
    assert get_op("global_avg_pool").fusion == "reduce" and get_op("avg_pool").fusion == "opaque"
