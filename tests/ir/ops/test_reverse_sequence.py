import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

X = rand(4, 3, 2)
LENS = np.array([4, 1, 3], np.int64)

CASES = [
    Case("reverse_sequence", [X, LENS], onnx="ReverseSequence", onnx_attrs={"batch_axis": 1, "time_axis": 0}),
    Case("reverse_sequence", [X.transpose(1, 0, 2).copy(), LENS], {"batch_axis": 0, "time_axis": 1},
         onnx="ReverseSequence", onnx_attrs={"batch_axis": 0, "time_axis": 1}, id="reverse_sequence-batch-first"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
