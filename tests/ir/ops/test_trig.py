import pytest

from .harness import Case, check_case, ids, rand

X = rand(2, 3, 4)
UNIT = rand(2, 3, 4, lo=-0.95, hi=0.95)  # inside the domain of asin, acos, atanh
ABOVE_ONE = rand(2, 3, 4, lo=1.05, hi=4.0)  # acosh's domain

CASES = [
    *[Case(op, [X], onnx=onnx) for op, onnx in [
        ("sinh", "Sinh"), ("cosh", "Cosh"), ("atan", "Atan"), ("asinh", "Asinh")]],
    *[Case(op, [UNIT], onnx=onnx) for op, onnx in [("asin", "Asin"), ("acos", "Acos"), ("atanh", "Atanh")]],
    Case("acosh", [ABOVE_ONE], onnx="Acosh"),
    Case("atan2", [X, rand(3, 1, seed=2)], torch=lambda a, b: a.atan2(b), id="atan2-bcast"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
