"""bcq_dense against torch: the sign planes decoded index by index, then a float64 linear."""

import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.bcq import BCQScheme, fit_bcq
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids


def _torch_bcq_dense(planes, group):
    def run(x, signs, alphas, bias=None):
        import torch

        k = x.shape[-1]
        idx = torch.arange(k)
        words = signs.long()[:, :, (idx // 256) * 8 + idx % 8]  # [planes, N, K]: 32 bits per word, 8 lanes
        bits = (words >> ((idx // 8) % 32)) & 1
        g = idx // (group or k)
        w = ((bits.double() * 2 - 1) * alphas.double()[:, g, :].permute(2, 0, 1)).sum(0)
        y = x.double() @ w.T
        return (y if bias is None else y + bias.double()).float()
    return run


def case(planes, group, x_shape, n, bias=False, seed=0):
    rng = np.random.default_rng(seed)
    q = fit_bcq(rng.standard_normal((n, x_shape[-1])).astype(np.float32), BCQScheme(planes, group))
    inputs = [rng.standard_normal(x_shape).astype(np.float32), q.planes, q.alphas]
    inputs += [rng.standard_normal(n).astype(np.float32)] if bias else []
    return Case("bcq_dense", inputs, {"planes": planes, "group": group}, torch=_torch_bcq_dense(planes, group),
                id=f"bcq_dense-{planes}g{group}-{'x'.join(map(str, x_shape))}-n{n}{'-bias' if bias else ''}",
                rtol=1e-5, atol=1e-5)


CASES = [case(3, 128, (1, 256), 5), case(2, 32, (3, 64), 7, bias=True), case(1, 0, (2, 4, 48), 3),
         case(4, 64, (1, 320), 9)]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_mismatched_planes_and_alphas_are_named():
    from kernforge.ir.ops import get_op

    op = get_op("bcq_dense")
    good = [tensor([2, 256]), tensor([3, 4, 8], "u32"), tensor([4, 2, 3])]
    assert op.infer_types(good, op.check_attrs({"planes": 3, "group": 128}))[0].shape == (2, 4)
    with pytest.raises(TypeInferenceError, match=r"alphas must be \[4, 4, 3\]"):
        op.infer_types(good, op.check_attrs({"planes": 3, "group": 64}))
    with pytest.raises(TypeInferenceError, match="pack into"):
        op.infer_types(good, op.check_attrs({"planes": 2, "group": 128}))
