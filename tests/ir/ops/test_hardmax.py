import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

X = rand(2, 3, 4)
TIES = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], np.float32)

CASES = [
    Case("hardmax", [X], {"axis": axis}, onnx="Hardmax", onnx_attrs={"axis": axis}, opset=13, id=f"hardmax-axis{axis}")
    for axis in (-1, 0, 1)
] + [Case("hardmax", [TIES], onnx="Hardmax", opset=13, id="hardmax-ties-first")]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
