import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

A = rand(2, 3, lo=-5, hi=5)
B = rand(3, lo=0.5, hi=3, seed=1) * np.array([1, -1, 1], np.float32)
IA = rand(3, 4, dtype=np.int32, lo=-9, hi=9)
IB = rand(3, 4, dtype=np.int32, lo=1, hi=4, seed=2) * np.array([1, -1, 1, -1], np.int32)

CASES = [
    Case("floor_mod", [IA, IB], onnx="Mod", id="floor_mod-int"),
    Case("floor_mod", [A, B], torch=lambda a, b: a.remainder(b), rtol=1e-5, atol=1e-5, id="floor_mod-float"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
