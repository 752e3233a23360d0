import numpy as np
import pytest

from .harness import Case, check_case, ids

X = np.array([-np.inf, -1.0, 0.0, np.nan, 2.5, np.inf], np.float32)

CASES = [
    Case("is_inf", [X], onnx="IsInf", opset=20),
    Case("is_inf", [X], {"detect_negative": False}, onnx="IsInf", onnx_attrs={"detect_negative": 0}, opset=20,
         id="is_inf-positive"),
    Case("is_inf", [X], {"detect_positive": False}, onnx="IsInf", onnx_attrs={"detect_positive": 0}, opset=20,
         id="is_inf-negative"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
