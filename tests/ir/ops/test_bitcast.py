import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import dtype, tensor

from .harness import Case, check_case, ids, rand

F = rand(2, 3)
INTS = rand(4, dtype=np.int32, lo=-1000, hi=1000)



def torch_dtype(name):
    import torch

    return getattr(torch, name)


CASES = [
    Case("bitcast", [F], {"dtype": "i32"}, torch=lambda t: t.view(torch_dtype("int32")), id="bitcast-f32-to-i32"),
    Case("bitcast", [INTS], {"dtype": "f32"}, torch=lambda t: t.view(torch_dtype("float32")), id="bitcast-i32-to-f32"),
    Case("bitcast", [INTS.astype(np.int8)], {"dtype": "u8"}, torch=lambda t: t.view(torch_dtype("uint8")),
         id="bitcast-i8-to-u8"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_widths_must_match():
    with pytest.raises(TypeInferenceError, match="widths differ"):
        get_op("bitcast").infer_types([tensor([2], "f32")], {"dtype": dtype("i64")})
