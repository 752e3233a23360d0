import numpy as np
import pytest

from .harness import Case, check_case, ids, rand


def col2im_case(image, block, c=2, dilations=None, pads=None, strides=None, id=""):
    k = len(image)
    dilations, pads, strides = dilations or [1] * k, pads or [0] * (2 * k), strides or [1] * k
    blocks = [(image[i] + pads[i] + pads[i + k] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
              for i in range(k)]
    x = rand(1, c * int(np.prod(block)), int(np.prod(blocks)), seed=len(id))
    attrs = {"dilations": dilations, "pads": pads, "strides": strides}
    return Case("col2im", [x], {"image_shape": image, "block_shape": block, **attrs}, onnx="Col2Im", opset=18,
                onnx_attrs=attrs, onnx_inputs=[x, np.array(image, np.int64), np.array(block, np.int64)],
                id=id, rtol=1e-5, atol=1e-5)


CASES = [
    col2im_case([5, 5], [2, 2], id="col2im"),
    col2im_case([6, 5], [3, 2], strides=[2, 1], id="col2im-strides"),
    col2im_case([5, 5], [2, 2], pads=[1, 0, 1, 2], id="col2im-pads"),
    col2im_case([6, 6], [2, 2], dilations=[2, 1], id="col2im-dilations"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
