import numpy as np
import pytest

from .harness import Case, check_case, ids

X = np.array([[[[5, 6], [7, 8]]]], np.float32)
INDICES = np.array([[[[5, 7], [13, 15]]]], np.int64)
ATTRS = {"kernel_shape": [2, 2], "strides": [2, 2]}

CASES = [
    Case("max_unpool", [X, INDICES], ATTRS, onnx="MaxUnpool", onnx_attrs=ATTRS),
    Case("max_unpool", [X, np.array([[[[0, 2], [6, 8]]]], np.int64)], {**ATTRS, "pads": [0, 0, 1, 1]}, onnx="MaxUnpool",
         onnx_attrs={**ATTRS, "pads": [0, 0, 1, 1]}, id="max_unpool-pads"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_output_shape_pads_the_unpooled_block_at_the_end():
    """As the ONNX reference and the official node test (onnxruntime re-flattens the indices instead)."""
    from kernforge.ir.ops import get_op

    y = get_op("max_unpool").evaluate([X, INDICES], {**ATTRS, "pads": None, "output_shape": [1, 1, 5, 5]})[0]
    want = np.zeros((1, 1, 5, 5), np.float32)
    want[0, 0, :4, :4].flat[INDICES.ravel()] = X.ravel()
    np.testing.assert_array_equal(y, want)
