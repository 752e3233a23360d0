import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

CASES = [
    Case("det", [rand(3, 3)], onnx="Det", rtol=1e-4, atol=1e-5),
    Case("det", [rand(2, 4, 2, 2, seed=1)], onnx="Det", rtol=1e-4, atol=1e-5, id="det-batched"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_det_of_identity_is_one():
    from kernforge.ir.ops import get_op

    assert get_op("det").evaluate([np.eye(4, dtype=np.float32)], {})[0] == 1
