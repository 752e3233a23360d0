import ml_dtypes
import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.types import DTYPES, TensorType, dtype, tensor, type_of

DESIGN_DTYPES = ["f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i64", "i32", "i16", "i8", "u8",
                 "i4", "u4", "i3", "i2", "i1", "bool"]


@pytest.mark.parametrize("name", DESIGN_DTYPES)
def test_every_design_dtype_maps_to_numpy(name):
    dt = DTYPES[name]
    arr = np.zeros(3, dt.numpy)
    assert arr.dtype == dt.numpy
    assert dt.min <= 0 <= dt.max


@pytest.mark.parametrize("name, np_type", [
    ("bf16", ml_dtypes.bfloat16), ("f8e4m3", ml_dtypes.float8_e4m3fn), ("f8e5m2", ml_dtypes.float8_e5m2),
    ("i4", ml_dtypes.int4), ("u4", ml_dtypes.uint4), ("i2", ml_dtypes.int2), ("i1", ml_dtypes.int1)])
def test_low_precision_dtypes_use_ml_dtypes(name, np_type):
    assert DTYPES[name].numpy == np.dtype(np_type)


@pytest.mark.parametrize("name, lo, hi", [("i4", -8, 7), ("u4", 0, 15), ("i3", -4, 3), ("i2", -2, 1),
                                          ("i8", -128, 127), ("u8", 0, 255), ("f8e4m3", -448.0, 448.0)])
def test_ranges(name, lo, hi):
    assert (DTYPES[name].min, DTYPES[name].max) == (lo, hi)


def test_numpy_dtype_resolves_to_canonical_name():
    assert dtype(np.int8).name == "i8"  # not i3, which shares int8 storage
    assert dtype(np.dtype("float32")) is DTYPES["f32"]
    assert dtype(ml_dtypes.bfloat16).name == "bf16"
    with pytest.raises(KernforgeError, match="unknown dtype"):
        dtype("f12")


def test_tensor_type_text_and_properties():
    t = tensor(["batch", 16, None, 4], "f16", layout="NCHW4c")
    assert str(t) == "tensor<?batch x16x? x4xf16, NCHW4c>"
    assert not t.is_static and t.rank == 4 and t.numel == 64
    assert str(tensor([], "i64")) == "tensor<i64>"
    assert tensor([2, 3], "i4").nbytes == 3
    assert type_of(np.zeros((2, 5), np.int32)) == TensorType((2, 5), dtype("i32"))


def test_bad_dims_are_rejected():
    with pytest.raises(KernforgeError, match="invalid dimension"):
        tensor([2, -1])
    with pytest.raises(KernforgeError, match="invalid dimension"):
        tensor([True])
