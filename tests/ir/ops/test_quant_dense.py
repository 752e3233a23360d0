"""quant_dense against torch: the packed layout decoded index by index, then a float64 linear."""

import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.quantization import WeightScheme, quantize_rtn
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids


def _torch_quant_dense(bits, group):
    def run(x, words, scales, offsets, bias=None):
        import torch

        k, per = x.shape[-1], 32 // bits
        idx = torch.arange(k)
        word = words.long()[:, (idx // (8 * per)) * 8 + idx % 8]
        codes = (word >> ((idx // 8) % per * bits)) & ((1 << bits) - 1)
        g = idx // (group or k)
        w = codes.double() * scales.double()[:, g] + offsets.double()[:, g]
        y = x.double() @ w.T
        return (y if bias is None else y + bias.double()).float()
    return run


def _torch_int8_activations(group):
    """The act_bits 8 math in torch: x rounded to int8 per group (max|x| / 127), integer dot products of
    the 4-bit codes with them per group, both scales applied to each group's sum."""
    def run(x, words, scales, offsets, bias=None):
        import torch

        k, n = x.shape[-1], words.shape[0]
        idx = torch.arange(k)
        codes = (words.long()[:, (idx // 64) * 8 + idx % 8] >> ((idx // 8) % 8 * 4)) & 15
        xg = x.reshape(*x.shape[:-1], k // group, group)
        peak = xg.abs().amax(-1)
        xscale = torch.where(peak > 0, peak / 127, torch.ones_like(peak))
        xq = torch.clamp(torch.round(xg / xscale[..., None]), -127, 127).long()
        dots = torch.einsum("ngk,...gk->...ng", codes.reshape(n, k // group, group), xq).double()
        y = (dots * scales.double() * xscale.double()[..., None, :]).sum(-1)
        y = y + torch.einsum("ng,...g->...n", offsets.double(), xg.double().sum(-1))
        return (y if bias is None else y + bias.double()).float()
    return run


def case(scheme, x_shape, n, bias=False, seed=0):
    rng = np.random.default_rng(seed)
    s = WeightScheme.parse(scheme)
    q = quantize_rtn(rng.standard_normal((n, x_shape[-1])).astype(np.float32), s)
    inputs = [rng.standard_normal(x_shape).astype(np.float32), q.words, q.scales, q.offsets]
    inputs += [rng.standard_normal(n).astype(np.float32)] if bias else []
    oracle = _torch_int8_activations(s.group) if s.a8 else _torch_quant_dense(s.bits, s.group)
    return Case("quant_dense", inputs, {"bits": s.bits, "group": s.group, "act_bits": 8 if s.a8 else 0}, torch=oracle,
                id=f"quant_dense-{scheme}-{'x'.join(map(str, x_shape))}-n{n}{'-bias' if bias else ''}", rtol=1e-5, atol=1e-5)


CASES = [
    case("w8", (1, 64), 5), case("w4g32", (3, 64), 7, bias=True), case("w3g16", (2, 4, 48), 3),
    case("w2g64", (1, 128), 4), case("w4g32-sym", (64,), 6), case("w3", (2, 100), 3, bias=True),
    # schedule shapes: chunks of output rows that must not straddle batch rows (96 = 2 chunks of 48; 97 prime)
    case("w4g64", (2, 256), 96), case("w8g32", (3, 64), 97, bias=True),
    # int8 activations: groups of 64 and 128, batch rows, rows not a multiple of the 4 per task
    case("w4g64-a8", (1, 256), 12), case("w4g128-a8", (3, 256), 7, bias=True), case("w4g64-a8", (2, 2, 128), 5),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_mismatched_scales_and_word_counts_are_named():
    from kernforge.ir.ops import get_op

    op = get_op("quant_dense")
    good = [tensor([2, 64]), tensor([4, 8], "u32"), tensor([4, 2]), tensor([4, 2])]
    assert op.infer_types(good, op.check_attrs({"bits": 4, "group": 32}))[0].shape == (2, 4)
    with pytest.raises(TypeInferenceError, match="pack into 16 words"):
        op.infer_types(good, op.check_attrs({"bits": 8, "group": 32}))
    with pytest.raises(TypeInferenceError, match="scales must be"):
        op.infer_types([*good[:2], tensor([4, 3]), good[3]], op.check_attrs({"bits": 4, "group": 32}))
