import ml_dtypes
import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, rand
from .harness import infer as infer_types

INT_MAX = np.iinfo(np.int64).max
X = rand(2, 3, 4)
X4 = rand(2, 8, 3, 4)
V = np.arange(10, dtype=np.float32)


class AsIs:
    """Reaches the torch oracle as is: torch cannot import bf16 NumPy arrays."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


def bf16_torch(x):
    import torch

    return torch.from_numpy(np.asarray(x, np.float32)).bfloat16()  # exact: bf16 values fit f32


BF16 = (X * 50).astype(ml_dtypes.bfloat16)


def i64(*v):
    return np.array(v, np.int64)


def reshape(shape, id):
    return Case("reshape", [X], {"shape": shape}, onnx="Reshape", onnx_inputs=[X, i64(*shape)], id=id)


def slice_(x, starts, ends, axes=None, steps=None, id=""):
    attrs = {k: v for k, v in dict(starts=starts, ends=ends, axes=axes, steps=steps).items() if v is not None}
    extra = [i64(*v) if v is not None else None for v in (axes, steps)]
    return Case("slice", [x], attrs, onnx="Slice", onnx_inputs=[x, i64(*starts), i64(*ends), *extra], id=id)


def pad(x, pads, mode="constant", value=0.0, id=""):
    const = np.array(value, x.dtype) if mode == "constant" else None
    return Case("pad", [x], {"pads": pads, "mode": mode, "value": value}, onnx="Pad",
                onnx_attrs={"mode": mode}, onnx_inputs=[x, i64(*pads), const], id=id)


def axes_case(op, onnx, x, axes, id):
    attrs = {} if axes is None else {"axes": axes}
    return Case(op, [x], attrs, onnx=onnx, onnx_inputs=[x] + ([] if axes is None else [i64(*axes)]), id=id)


def cast(x, to, id):
    from onnx import helper

    return Case("cast", [x], {"dtype": to}, onnx="Cast",
                onnx_attrs={"to": helper.np_dtype_to_tensor_dtype(np.dtype(to))}, id=id)


def trilu(x, upper, k, id):
    return Case("trilu", [x], {"upper": upper, "k": k}, onnx="Trilu", onnx_attrs={"upper": int(upper)},
                onnx_inputs=[x, np.array(k, np.int64)], id=id)


CASES = [
    reshape([4, 3, 2], "reshape-plain"),
    reshape([0, -1], "reshape-copy-and-infer"),
    reshape([-1], "reshape-flat"),
    reshape([2, 0, 2, -1], "reshape-copy-middle"),
    Case("transpose", [X], {"perm": [1, 2, 0]}, onnx="Transpose", onnx_attrs={"perm": [1, 2, 0]}),
    Case("transpose", [X], onnx="Transpose", id="transpose-reverse"),
    Case("concat", [X, rand(2, 1, 4, seed=1), rand(2, 5, 4, seed=2)], {"axis": 1}, onnx="Concat",
         onnx_attrs={"axis": 1}),
    Case("concat", [X, rand(2, 3, 2, seed=1)], {"axis": -1}, onnx="Concat", onnx_attrs={"axis": -1},
         id="concat-neg-axis"),
    Case("split", [X], {"axis": 1, "sizes": [1, 2]}, onnx="Split", onnx_attrs={"axis": 1},
         onnx_inputs=[X, i64(1, 2)]),
    Case("split", [V], {"sizes": [3, 0, 7]}, onnx="Split", onnx_inputs=[V, i64(3, 0, 7)], id="split-empty-piece"),
    slice_(V, [2], [8], id="slice-basic"),
    slice_(V, [-3], [INT_MAX], id="slice-neg-start-int-max"),
    slice_(V, [8], [1], steps=[-2], id="slice-neg-step"),
    slice_(V, [-1], [-INT_MAX], steps=[-1], id="slice-reverse-all"),
    slice_(V, [7], [INT_MAX], steps=[-2], id="slice-neg-step-int64-max-end"),
    slice_(V, [-4], [2**31 - 1], steps=[-1], id="slice-neg-step-int32-max-end"),
    slice_(V, [20], [-20], steps=[-3], id="slice-neg-step-clamped"),
    slice_(X, [1, 0], [-1, 100], axes=[-1, 0], steps=[2, 1], id="slice-neg-axes"),
    slice_(X, [5], [7], axes=[1], id="slice-empty"),
    pad(X, [0, 1, 2, 1, 0, 1], value=1.5, id="pad-constant"),
    pad(X, [0, 1, 2, 0, 1, 1], "reflect", id="pad-reflect"),
    pad(X, [1, 2, 0, 0, 2, 3], "edge", id="pad-edge"),
    pad(X, [0, 1, 2, 0, 2, 3], "wrap", id="pad-wrap"),
    pad(X, [0, -1, 2, 1, 1, -2], id="pad-negative-crops"),
    pad(rand(3, 4, dtype=np.int32, lo=-9, hi=9), [1, 1, 0, 2], value=7, id="pad-int"),
    Case("expand", [rand(3, 1)], {"shape": [2, 1, 4]}, onnx="Expand", onnx_inputs=[rand(3, 1), i64(2, 1, 4)]),
    Case("expand", [X], {"shape": [3, 1]}, onnx="Expand", onnx_inputs=[X, i64(3, 1)], id="expand-keeps-dims"),
    axes_case("squeeze", "Squeeze", rand(1, 3, 1, 2), [0, -2], "squeeze-axes"),
    axes_case("squeeze", "Squeeze", rand(1, 3, 1, 2), None, "squeeze-all"),
    axes_case("unsqueeze", "Unsqueeze", X, [0, -1], "unsqueeze-both-ends"),
    axes_case("unsqueeze", "Unsqueeze", X, [1, 3], "unsqueeze-middle"),
    *[Case("flatten", [X4], {"axis": a}, onnx="Flatten", onnx_attrs={"axis": a}, id=f"flatten-{a}")
      for a in (0, 1, -1, 4)],
    Case("tile", [X], {"repeats": [2, 1, 3]}, onnx="Tile", onnx_inputs=[X, i64(2, 1, 3)]),
    cast(X * 3, np.int32, "cast-f32-i32-truncates"),
    cast(X * 60, np.int8, "cast-f32-i8"),
    cast(np.array([0.0, -0.0, 0.5, -2.0, np.inf], np.float32), np.bool_, "cast-f32-bool"),
    cast(rand(3, 4, dtype=np.bool_), np.float32, "cast-bool-f32"),
    cast(rand(3, 4, dtype=np.bool_), np.int64, "cast-bool-i64"),
    cast(X, np.float16, "cast-f32-f16"),
    cast(X.astype(np.float16), np.float32, "cast-f16-f32"),
    cast(X.astype(np.float16) * 5, np.int32, "cast-f16-i32"),
    cast(rand(5, dtype=np.int64, lo=-1000, hi=1000), np.float32, "cast-i64-f32"),
    cast(rand(5, dtype=np.int32, lo=-3, hi=3), np.bool_, "cast-int-bool"),
    # onnxruntime has no bf16 over NumPy, so torch checks bf16 rounding and truncation.
    Case("cast", [X * 100], {"dtype": "bf16"}, torch=lambda x: x.bfloat16().float(), id="cast-f32-bf16"),
    Case("cast", [AsIs(BF16)], {"dtype": "i32"}, torch=lambda x: bf16_torch(x).int(), id="cast-bf16-i32"),
    Case("cast", [AsIs(BF16)], {"dtype": "f32"}, torch=lambda x: bf16_torch(x).float(), id="cast-bf16-f32"),
    Case("identity", [X], onnx="Identity"),
    Case("depth_to_space", [X4], {"blocksize": 2}, onnx="DepthToSpace", onnx_attrs={"blocksize": 2, "mode": "DCR"}),
    Case("depth_to_space", [X4], {"blocksize": 2, "mode": "CRD"}, onnx="DepthToSpace",
         onnx_attrs={"blocksize": 2, "mode": "CRD"}, id="depth_to_space-crd"),
    Case("space_to_depth", [rand(2, 3, 4, 6)], {"blocksize": 2}, onnx="SpaceToDepth", onnx_attrs={"blocksize": 2}),
    trilu(X4, True, 0, "trilu-upper"),
    trilu(X4, False, -1, "trilu-lower-below"),
    trilu(rand(3, 5), True, 2, "trilu-upper-k2"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def infer(name, types, **attrs):
    return [t.shape for t in infer_types(name, types, **attrs)]


B = tensor(["batch", 12, 64])


@pytest.mark.parametrize("name, types, attrs, shapes", [
    ("reshape", [B], {"shape": [0, 768]}, [("batch", 768)]),
    ("reshape", [B], {"shape": [-1, 768]}, [("batch", 768)]),
    ("reshape", [B], {"shape": [0, -1, 8]}, [("batch", 96, 8)]),
    ("reshape", [B], {"shape": [-1, 64]}, [(None, 64)]),
    ("reshape", [B], {"shape": [4, -1]}, [(4, None)]),
    ("reshape", [tensor([None, 4])], {"shape": [-1]}, [(None,)]),
    ("reshape", [tensor([2, 3, 4])], {"shape": [0, -1]}, [(2, 12)]),
    ("transpose", [B], {"perm": [2, 0, 1]}, [(64, "batch", 12)]),
    ("transpose", [B], {}, [(64, 12, "batch")]),
    ("concat", [tensor(["batch", 3]), tensor(["batch", 5])], {"axis": 1}, [("batch", 8)]),
    ("concat", [tensor(["batch", 3]), tensor([2, 3])], {"axis": 0}, [(None, 3)]),
    ("concat", [tensor(["batch", 3]), tensor([2, "n"])], {"axis": 1}, [(2, None)]),
    ("concat", [tensor(["batch", 3])], {"axis": 0}, [("batch", 3)]),
    ("split", [B], {"axis": 1, "sizes": [4, 8]}, [("batch", 4, 64), ("batch", 8, 64)]),
    ("split", [B], {"axis": 0, "sizes": [1, 1]}, [(1, 12, 64), (1, 12, 64)]),
    ("slice", [B], {"starts": [0], "ends": [INT_MAX], "axes": [0]}, [("batch", 12, 64)]),
    ("slice", [B], {"starts": [-1], "ends": [-INT_MAX], "axes": [0], "steps": [-1]}, [("batch", 12, 64)]),
    ("slice", [B], {"starts": [-1], "ends": [INT_MAX], "axes": [0], "steps": [-1]}, [("batch", 12, 64)]),
    ("slice", [B], {"starts": [0], "ends": [INT_MAX], "axes": [0], "steps": [2]}, [(None, 12, 64)]),
    ("slice", [B], {"starts": [1, 2], "ends": [3, -1], "axes": [0, 1]}, [(None, 9, 64)]),
    ("pad", [B], {"pads": [0, 1, 0, 0, 1, 2]}, [("batch", 14, 66)]),
    ("pad", [B], {"pads": [1, 0, 0, 0, 0, 0]}, [(None, 12, 64)]),
    ("expand", [tensor(["batch", 1])], {"shape": [1, 5]}, [("batch", 5)]),
    ("expand", [tensor([3, 1])], {"shape": [2, 1, 4]}, [(2, 3, 4)]),
    ("squeeze", [tensor(["batch", 1, 3, 1])], {}, [("batch", 3)]),
    ("squeeze", [tensor(["batch", 1, 3])], {"axes": [0]}, [(1, 3)]),
    ("unsqueeze", [B], {"axes": [0, -1]}, [(1, "batch", 12, 64, 1)]),
    ("flatten", [B], {"axis": 1}, [("batch", 768)]),
    ("flatten", [B], {"axis": 2}, [(None, 64)]),
    ("flatten", [B], {"axis": 0}, [(1, None)]),
    ("tile", [B], {"repeats": [1, 2, 1]}, [("batch", 24, 64)]),
    ("tile", [B], {"repeats": [2, 1, 1]}, [(None, 12, 64)]),
    ("depth_to_space", [tensor(["n", 8, 3, "w"])], {"blocksize": 2}, [("n", 2, 6, None)]),
    ("space_to_depth", [tensor(["n", 3, 4, 6])], {"blocksize": 2}, [("n", 12, 2, 3)]),
    ("trilu", [B], {}, [("batch", 12, 64)]),
])
def test_symbolic_inference(name, types, attrs, shapes):
    assert infer(name, types, **attrs) == shapes


def test_cast_and_identity_types():
    t = get_op("cast").infer_types([B], get_op("cast").check_attrs({"dtype": "bf16"}))[0]
    assert t.dtype.name == "bf16" and t.shape == B.shape
    assert get_op("identity").infer_types([B], {})[0] == B


@pytest.mark.parametrize("name, types, attrs", [
    ("reshape", [tensor([2, 3, 4])], {"shape": [5, 5]}),
    ("reshape", [tensor([2, 3, 4])], {"shape": [5, -1]}),
    ("reshape", [tensor([2, 3, 4])], {"shape": [-1, -1]}),
    ("reshape", [tensor([2, 3, 4])], {"shape": [2, -2, 12]}),
    ("reshape", [tensor([2, 3])], {"shape": [1, 1, 0, 6]}),
    ("reshape", [tensor(["b", 3])], {"shape": [0, 4]}),
    ("transpose", [tensor([2, 3, 4])], {"perm": [0, 1]}),
    ("transpose", [tensor([2, 3, 4])], {"perm": [0, 1, 1]}),
    ("transpose", [tensor([2, 3, 4])], {"perm": [0, 1, 3]}),
    ("concat", [tensor([2, 3]), tensor([2, 3, 1])], {"axis": 0}),
    ("concat", [tensor([2, 3]), tensor([2, 4])], {"axis": 0}),
    ("concat", [tensor([2, 3]), tensor([2, 3], "f16")], {"axis": 0}),
    ("concat", [tensor([2, 3])], {"axis": 2}),
    ("concat", [tensor([])], {"axis": 0}),
    ("split", [tensor([2, 6])], {"axis": 1, "sizes": [2, 3]}),
    ("split", [tensor([2, 6])], {"axis": 1, "sizes": [7, -1]}),
    ("slice", [tensor([4])], {"starts": [0], "ends": [2], "steps": [0]}),
    ("slice", [tensor([4, 4])], {"starts": [0, 0], "ends": [2, 2], "axes": [1, -1]}),
    ("slice", [tensor([4])], {"starts": [0, 1], "ends": [2]}),
    ("pad", [tensor([4, 4])], {"pads": [1, 1]}),
    ("pad", [tensor([4, 4])], {"pads": [0, -3, 0, -2]}),
    ("expand", [tensor([3, 2])], {"shape": [4, 1]}),
    ("squeeze", [tensor([1, 3])], {"axes": [1]}),
    ("unsqueeze", [tensor([3])], {"axes": [0, 0]}),
    ("flatten", [tensor([3, 4])], {"axis": 3}),
    ("tile", [tensor([3, 4])], {"repeats": [2]}),
    ("depth_to_space", [tensor([1, 6, 2, 2])], {"blocksize": 2}),
    ("depth_to_space", [tensor([6, 2, 2])], {"blocksize": 2}),
    ("space_to_depth", [tensor([1, 2, 3, 4])], {"blocksize": 2}),
    ("trilu", [tensor([4])], {}),
])
def test_type_errors(name, types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(name, types, **attrs)
