import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, rand

A = rand(3, 4, dtype=np.int32, lo=-100, hi=100)
B = rand(4, dtype=np.int32, lo=-100, hi=100, seed=1)
U = rand(3, 4, dtype=np.uint8, lo=0, hi=255)

CASES = [
    Case("bitwise_and", [A, B], onnx="BitwiseAnd", id="bitwise_and-bcast"),
    Case("bitwise_or", [A, B], onnx="BitwiseOr"),
    Case("bitwise_xor", [A, B], onnx="BitwiseXor"),
    Case("bitwise_not", [A], onnx="BitwiseNot"),
    Case("bitwise_not", [U], onnx="BitwiseNot", id="bitwise_not-u8"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_floats_are_rejected():
    with pytest.raises(TypeInferenceError, match="integers"):
        get_op("bitwise_and").infer_types([tensor([2], "f32"), tensor([2], "f32")], {})
