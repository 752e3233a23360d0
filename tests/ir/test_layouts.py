"""Channel-blocked layouts (ir/layouts.py): physical shapes and the NumPy packing round trip."""

import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.layouts import can_block, channel_block, physical_shape, to_logical, to_physical
from kernforge.ir.types import tensor


def test_physical_shape_and_round_trip():
    t = tensor([2, 16, 5, 3], layout="NCHW8c")
    assert physical_shape(t) == (2, 2, 5, 3, 8)
    x = np.arange(2 * 16 * 5 * 3, dtype=np.float32).reshape(2, 16, 5, 3)
    p = to_physical(x, "NCHW8c")
    assert p.shape == (2, 2, 5, 3, 8)
    assert p[1, 1, 4, 2, 3] == x[1, 8 + 3, 4, 2]  # channel 11 is lane 3 of block 1
    np.testing.assert_array_equal(to_logical(p, "NCHW8c"), x)
    assert to_physical(x, None) is x and physical_shape(tensor([2, 16, 5, 3])) == (2, 16, 5, 3)


def test_block_rules():
    assert channel_block("NCHW") is None and channel_block(None) is None and channel_block("NCHW4c") == 4
    assert can_block(tensor([1, 16, 7, 7]), 8) and not can_block(tensor([1, 12, 7, 7]), 8)
    assert not can_block(tensor([16, 7]), 8)
    with pytest.raises(KernforgeError, match="unknown layout"):
        channel_block("NHWC")
