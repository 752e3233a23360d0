"""int8_dense (W8A8) against torch: the input rounded to int8 on its static scale, an integer matmul
with the int8 weight, both scales on the int32 sums."""

import numpy as np
import pytest

from .harness import Case, check_case, ids


def _torch_int8_dense(x_scale):
    def run(x, w, w_scales, bias=None):
        import torch

        xq = torch.clamp(torch.round(x / torch.tensor(x_scale, dtype=torch.float32)), -127, 127).long()
        y = (xq @ w.long().T).double() * (float(np.float32(x_scale)) * w_scales.double())
        return (y if bias is None else y + bias.double()).float()
    return run


def case(x_shape, n, x_scale, bias=False, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (n, x_shape[-1])).astype(np.int8)
    inputs = [rng.standard_normal(x_shape).astype(np.float32) * 2, w, rng.random(n).astype(np.float32) * 0.01]
    inputs += [rng.standard_normal(n).astype(np.float32)] if bias else []
    return Case("int8_dense", inputs, {"x_scale": x_scale}, torch=_torch_int8_dense(x_scale),
                id=f"int8_dense-{'x'.join(map(str, x_shape))}-n{n}-s{x_scale}{'-bias' if bias else ''}",
                rtol=1e-5, atol=1e-5)


# 0.01: most inputs clip at +-127; 0.05: few do
CASES = [case((1, 64), 9, 0.05), case((3, 128), 8, 0.01, bias=True), case((2, 2, 96), 5, 0.05)]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
