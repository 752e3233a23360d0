import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, rand
from .harness import infer as infer_types

X = rand(5, 3)
X3 = rand(3, 4, 5)
IMG = rand(1, 2, 4, 5)


def i64(*v):
    return np.array(v, np.int64)


def gather(op, onnx, x, idx, id, **attrs):
    return Case(op, [x, idx], attrs, onnx=onnx, onnx_attrs=attrs, id=id)


def scatter(op, onnx, inputs, reduction, id, **attrs):
    return Case(op, inputs, dict(attrs, reduction=reduction), onnx=onnx,
                onnx_attrs=dict(attrs, reduction=reduction), id=id)


def one_hot(idx, depth, values, id, axis=-1):
    return Case("one_hot", [idx, values], {"depth": depth, "axis": axis}, onnx="OneHot", onnx_attrs={"axis": axis},
                onnx_inputs=[idx, np.array(depth, idx.dtype), values], id=id)


def arange(start, limit, delta, dt, id):
    scalars = [np.array(v, dt) for v in (start, limit, delta)]
    return Case("arange", [], {"start": start, "limit": limit, "delta": delta, "dtype": np.dtype(dt)},
                onnx="Range", onnx_inputs=scalars, id=id)


def resize(x, id, sizes=None, scales=None, tol=1e-5, **attrs):
    ours = dict(attrs, **({"sizes": sizes} if sizes else {"scales": scales}))
    theirs = [x, None, None, i64(*sizes)] if sizes else [x, None, np.array(scales, np.float32)]
    return Case("resize", [x], ours, onnx="Resize", onnx_attrs=attrs, onnx_inputs=theirs, id=id, rtol=tol, atol=tol)


def nearest(x, coord, rounding, id, **size):
    return resize(x, id, mode="nearest", coordinate_transformation_mode=coord, nearest_mode=rounding, **size)


UNIQUE_ROWS = i64([4, 0, 2], [3, 1, -4])  # distinct positions along axis 0 of X, so "none" is defined
DUP_ROWS = i64([0, 0, 2], [0, -5, 2])
ND_IDX = i64([[0, 1], [-1, 2]], [[2, 0], [1, -1]])

CASES = [
    gather("gather", "Gather", X, i64([0, -1], [2, -5]), "gather-neg-indices"),
    gather("gather", "Gather", X3, np.int64(-2), "gather-scalar-index", axis=1),
    gather("gather", "Gather", X3, np.array([[4, 0, 1]], np.int32), "gather-i32-last-axis", axis=-1),
    gather("gather_elements", "GatherElements", X, i64([1, -1, 0], [4, 2, -2]), "gather_elements-axis0"),
    gather("gather_elements", "GatherElements", X3, rand(2, 4, 3, dtype=np.int64, lo=-5, hi=4),
           "gather_elements-smaller-indices", axis=-1),
    gather("gather_nd", "GatherND", X3, ND_IDX, "gather_nd-k2"),
    gather("gather_nd", "GatherND", X3, i64([2], [-1]), "gather_nd-k1"),
    gather("gather_nd", "GatherND", X3, i64([[1, 4], [3, 0]], [[0, 0], [2, -1]], [[3, 3], [1, 2]]),
           "gather_nd-batch1", batch_dims=1),
    gather("gather_nd", "GatherND", X3, rand(3, 4, 2, 1, dtype=np.int64, lo=-5, hi=4),
           "gather_nd-batch2", batch_dims=2),
    scatter("scatter_elements", "ScatterElements", [X, UNIQUE_ROWS, rand(2, 3, seed=1)], "none",
            "scatter_elements-none"),
    *[scatter("scatter_elements", "ScatterElements", [X, DUP_ROWS, rand(2, 3, seed=1)], r,
              f"scatter_elements-{r}-duplicates") for r in ("add", "mul", "max", "min")],
    scatter("scatter_elements", "ScatterElements",
            [X3, rand(3, 2, 5, dtype=np.int64, lo=-4, hi=3, seed=2), rand(3, 2, 5, seed=3)], "add",
            "scatter_elements-axis1", axis=1),
    scatter("scatter_nd", "ScatterND", [X3, i64([[0, 1]], [[2, -1]]), rand(2, 1, 5, seed=4)], "none",
            "scatter_nd-none"),
    *[scatter("scatter_nd", "ScatterND", [X3, i64([1], [1], [-1]), rand(3, 4, 5, seed=5)], r,
              f"scatter_nd-{r}-duplicates") for r in ("add", "mul", "max", "min")],
    scatter("scatter_nd", "ScatterND", [rand(6, dtype=np.int32, lo=-9, hi=9), i64([0], [5], [0]),
                                        np.array([3, 4, 5], np.int32)], "add", "scatter_nd-int-add"),
    one_hot(i64([0, 3], [-1, 5]), 4, np.array([0, 1], np.float32), "one_hot-last-axis-out-of-range"),
    one_hot(i64([1, -4, 2]), 4, np.array([-2, 7], np.int64), "one_hot-axis0", axis=0),
    one_hot(np.array([[0, 2, 1]], np.int32), 3, np.array([0.5, 3.0], np.float32), "one_hot-i32-axis-mid", axis=1),
    Case("shape_of", [X3], onnx="Shape"),
    arange(0.0, 5.0, 1.0, np.float32, "arange-f32"),
    arange(1.5, -2.0, -0.5, np.float32, "arange-neg-delta"),
    arange(-3, 10, 4, np.int64, "arange-i64"),
    arange(2, 2, 1, np.int32, "arange-empty"),
    nearest(IMG, "half_pixel", "round_prefer_floor", "resize-nearest-up", scales=[1, 1, 2, 2]),
    nearest(IMG, "asymmetric", "floor", "resize-nearest-down-asymmetric", sizes=[1, 2, 3, 2]),
    nearest(IMG, "align_corners", "round_prefer_ceil", "resize-nearest-align-corners", sizes=[1, 2, 5, 7]),
    nearest(IMG, "tf_half_pixel_for_nn", "ceil", "resize-nearest-tf-ceil", scales=[1, 1, 1.5, 0.8]),
    nearest(IMG, "pytorch_half_pixel", "round_prefer_floor", "resize-nearest-pytorch", sizes=[1, 2, 1, 9]),
    nearest(IMG, "half_pixel", "round_prefer_ceil", "resize-nearest-down-ties", scales=[1, 1, 0.5, 0.5]),
    nearest(rand(2, 3, 5, dtype=np.int32, lo=-9, hi=9), "asymmetric", "round_prefer_floor", "resize-nearest-int-3d",
            scales=[1, 1, 2.5]),
    resize(IMG, "resize-linear-up", scales=[1, 1, 2, 2], mode="linear", coordinate_transformation_mode="half_pixel"),
    resize(IMG, "resize-linear-align-corners", sizes=[1, 2, 3, 7], mode="linear",
           coordinate_transformation_mode="align_corners"),
    resize(IMG, "resize-linear-down-asymmetric", scales=[1, 1, 0.5, 0.6], mode="linear",
           coordinate_transformation_mode="asymmetric"),
    resize(IMG, "resize-linear-pytorch-size1", sizes=[1, 2, 1, 8], mode="linear",
           coordinate_transformation_mode="pytorch_half_pixel"),
    resize(rand(1, 2, 3, 4, 5), "resize-trilinear", sizes=[1, 2, 5, 3, 8], mode="linear",
           coordinate_transformation_mode="half_pixel"),
    resize(IMG, "resize-cubic-up", scales=[1, 1, 2, 2], mode="cubic", coordinate_transformation_mode="half_pixel"),
    resize(IMG, "resize-cubic-a-down", sizes=[1, 2, 3, 3], mode="cubic", cubic_coeff_a=-0.5,
           coordinate_transformation_mode="asymmetric"),
    resize(IMG, "resize-cubic-align-corners", sizes=[1, 2, 6, 9], mode="cubic",
           coordinate_transformation_mode="align_corners"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def infer(name, types, **attrs):
    return [(t.shape, t.dtype.name) for t in infer_types(name, types, **attrs)]


IDX = tensor(["n", 7], "i64")


@pytest.mark.parametrize("name, types, attrs, expected", [
    ("gather", [tensor(["batch", 10, 4]), IDX], {"axis": 1}, [(("batch", "n", 7, 4), "f32")]),
    ("gather_elements", [tensor(["batch", 10]), tensor(["batch", 3], "i32")], {"axis": 1},
     [(("batch", 3), "f32")]),
    ("gather_nd", [tensor(["b", 5, 6, 2]), tensor(["b", 3, 2], "i64")], {"batch_dims": 1}, [(("b", 3, 2), "f32")]),
    ("scatter_elements", [tensor(["b", 5]), tensor(["b", 2], "i64"), tensor([None, 2])], {}, [(("b", 5), "f32")]),
    ("scatter_nd", [tensor([4, "d"]), tensor([3, 1], "i64"), tensor([3, "d"])], {}, [((4, "d"), "f32")]),
    ("one_hot", [IDX, tensor([2], "i8")], {"depth": 3, "axis": 1}, [(("n", 3, 7), "i8")]),
    ("shape_of", [tensor([2, 3, 4], "f16")], {}, [((3,), "i64")]),
    ("arange", [], {"limit": 2.5, "delta": 0.5, "dtype": "f16"}, [((5,), "f16")]),
    ("resize", [tensor(["n", 3, 4, "w"])], {"scales": [1, 1, 2, 0.5]}, [(("n", 3, 8, None), "f32")]),
    ("resize", [tensor(["n", 3, 4, "w"])], {"sizes": [1, 3, 7, 9]}, [((1, 3, 7, 9), "f32")]),
    ("resize", [tensor([1, 3, 5, 5], "u8")], {"scales": [1, 1, 1.5, 0.5]}, [((1, 3, 7, 2), "u8")]),
])
def test_inference(name, types, attrs, expected):
    assert infer(name, types, **attrs) == expected


@pytest.mark.parametrize("name, types, attrs", [
    ("gather", [tensor([5, 3]), tensor([2])], {}),
    ("gather", [tensor([5, 3]), IDX], {"axis": 2}),
    ("gather", [tensor([]), IDX], {}),
    ("gather_elements", [tensor([5, 3]), tensor([5], "i64")], {}),
    ("gather_nd", [tensor([5, 3]), tensor([2, 3], "i64")], {}),
    ("gather_nd", [tensor([5, 3]), tensor([2, "k"], "i64")], {}),
    ("gather_nd", [tensor([4, 3]), tensor([5, 1], "i64")], {"batch_dims": 1}),
    ("scatter_elements", [tensor([5, 3]), tensor([2, 3], "i64"), tensor([2, 3], "f16")], {}),
    ("scatter_elements", [tensor([5, 3]), tensor([2, 3], "i64"), tensor([2, 2])], {}),
    ("scatter_nd", [tensor([5, 3]), tensor([2, 1], "i64"), tensor([2, 4])], {}),
    ("one_hot", [IDX, tensor([3])], {"depth": 3}),
    ("one_hot", [IDX, tensor([2])], {"depth": 0}),
    ("one_hot", [IDX, tensor([2])], {"depth": 3, "axis": 3}),
    ("shape_of", [tensor(["batch", 3])], {}),
    ("arange", [], {"limit": 3.0, "delta": 0.0}),
    ("resize", [tensor([1, 3, 4, 4])], {}),
    ("resize", [tensor([1, 3, 4, 4])], {"sizes": [1, 3, 8, 8], "scales": [1, 1, 2, 2]}),
    ("resize", [tensor([1, 3, 4, 4])], {"scales": [2, 2]}),
    ("resize", [tensor([1, 3, 4, 4])], {"scales": [1, 1, 0, 2]}),
    ("resize", [tensor([1, 3, 4, 4], "i32")], {"scales": [1, 1, 2, 2], "mode": "linear"}),
])
def test_type_errors(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)


def test_resize_flops():
    opdef = get_op("resize")
    x, attrs = tensor([1, 2, 4, 4]), opdef.check_attrs({"scales": [1, 1, 2, 2], "mode": "linear"})
    assert opdef.count_flops([x], opdef.infer_types([x], attrs), attrs) == 2 * 2 * 2 * 128
    assert opdef.count_flops([x], opdef.infer_types([x], dict(attrs, mode="nearest")), dict(attrs, mode="nearest")) == 0
