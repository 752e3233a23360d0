import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

U8 = rand(3, 4, dtype=np.uint8, lo=0, hi=255)
U32 = rand(2, 5, dtype=np.uint32, lo=0, hi=100000)
AMOUNT8 = rand(3, 4, dtype=np.uint8, lo=0, hi=7, seed=1)
AMOUNT32 = rand(5, dtype=np.uint32, lo=0, hi=31, seed=2)
I32 = rand(3, 4, dtype=np.int32, lo=-1000, hi=1000, seed=3)
I_AMOUNT = rand(3, 4, dtype=np.int32, lo=0, hi=20, seed=4)

CASES = [
    Case("shift_left", [U8, AMOUNT8], onnx="BitShift", onnx_attrs={"direction": "LEFT"}, opset=11),
    Case("shift_right", [U8, AMOUNT8], onnx="BitShift", onnx_attrs={"direction": "RIGHT"}, opset=11),
    Case("shift_left", [U32, AMOUNT32], onnx="BitShift", onnx_attrs={"direction": "LEFT"}, opset=11,
         id="shift_left-bcast"),
    Case("shift_right", [U32, AMOUNT32], onnx="BitShift", onnx_attrs={"direction": "RIGHT"}, opset=11,
         id="shift_right-bcast"),
    Case("shift_left", [I32, I_AMOUNT], torch=lambda a, b: a << b, id="shift_left-signed"),
    Case("shift_right", [I32, I_AMOUNT], torch=lambda a, b: a >> b, id="shift_right-signed-arithmetic"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_out_of_range_shifts_follow_onnx():
    from kernforge.ir.ops import get_op

    a = np.array([-8, 8, -1], np.int8)
    b = np.array([9, 8, -1], np.int8)
    left = get_op("shift_left").evaluate([a, b], {})[0]
    right = get_op("shift_right").evaluate([a, b], {})[0]
    assert left.tolist() == [0, 0, 0]
    assert right.tolist() == [-1, 0, -1]
