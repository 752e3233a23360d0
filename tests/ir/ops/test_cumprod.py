import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

X = rand(3, 4, lo=0.5, hi=1.5)
INTS = rand(2, 5, dtype=np.int32, lo=-3, hi=3)


def _exclusive(t, dim):
    import torch

    ones = torch.ones_like(t.narrow(dim, 0, 1))
    return torch.cat([ones, torch.cumprod(t, dim).narrow(dim, 0, t.shape[dim] - 1)], dim)


CASES = [
    Case("cumprod", [X], {"axis": 1}, torch=lambda t: t.cumprod(1)),
    Case("cumprod", [X], {"axis": -2}, torch=lambda t: t.cumprod(0), id="cumprod-negative-axis"),
    Case("cumprod", [INTS], {"axis": 1}, torch=lambda t: t.cumprod(1), id="cumprod-int"),
    Case("cumprod", [X], {"axis": 1, "exclusive": True}, torch=lambda t: _exclusive(t, 1), id="cumprod-exclusive"),
    Case("cumprod", [X], {"axis": 0, "reverse": True}, torch=lambda t: t.flip(0).cumprod(0).flip(0),
         id="cumprod-reverse"),
    Case("cumprod", [X], {"axis": 0, "reverse": True, "exclusive": True},
         torch=lambda t: _exclusive(t.flip(0), 0).flip(0), id="cumprod-reverse-exclusive"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
