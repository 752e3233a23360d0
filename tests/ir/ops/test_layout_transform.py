"""layout_transform is the identity on values: its oracle is torch re-storing a tensor channels-last
(a physical layout change, logically the same tensor)."""

import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, rand


def to_channels_last(x):
    import torch

    return x.contiguous(memory_format=torch.channels_last)


CASES = [
    Case("layout_transform", [rand(2, 16, 5, 3)], {"layout": "NCHW8c"}, torch=to_channels_last, id="to-blocked"),
    Case("layout_transform", [rand(1, 8, 4, 4)], {"layout": "NCHW"}, torch=to_channels_last, id="to-plain"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_inferred_type_carries_the_layout():
    op = get_op("layout_transform")
    (t,) = op.infer_types([tensor([1, 16, 4, 4])], {"layout": "NCHW8c"})
    assert t.layout == "NCHW8c" and t.shape == (1, 16, 4, 4)
    (back,) = op.infer_types([t], {"layout": "NCHW"})
    assert back.layout is None


@pytest.mark.parametrize("shape, layout, message", [
    ([1, 12, 4, 4], "NCHW8c", "multiple of 8"),
    ([16, 4], "NCHW8c", "4-D"),
    ([1, 16, 4, 4], "NHWC8x", "unknown layout"),
])
def test_bad_layouts_are_refused(shape, layout, message):
    with pytest.raises(KernforgeError, match=message):
        get_op("layout_transform").infer_types([tensor(shape)], {"layout": layout})
