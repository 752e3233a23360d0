"""spqr_dense against torch: codes, quantized scales and zero points decoded index by index, the
outliers added through torch's own CSR tensor, then a float64 linear."""

import numpy as np
import pytest

from kernforge.ir.spqr import SpQRScheme, fit_spqr

from .harness import Case, check_case, ids


def _torch_codes(words, bits, k):
    import torch

    idx, per = torch.arange(k), 32 // bits
    word = words.long()[:, (idx // (8 * per)) * 8 + idx % 8]
    return (word >> ((idx // 8) % per * bits)) & ((1 << bits) - 1)


def _torch_spqr_dense(bits, group):
    def run(x, words, stat_codes, stat_grid, outliers, cols, ptr, bias=None):
        import torch

        k = x.shape[-1]
        g = torch.arange(k // group)
        scale, offset = (_torch_codes(stat_codes[t], 3, k // group).double() * stat_grid.double()[t][:, g // 16, 0]
                         + stat_grid.double()[t][:, g // 16, 1] for t in (0, 1))
        w = _torch_codes(words, bits, k).double() * scale.repeat_interleave(group, 1) + offset.repeat_interleave(
            group, 1)
        w = w + torch.sparse_csr_tensor(ptr.long(), cols.long(), outliers.double(), w.shape).to_dense()
        y = x.double() @ w.T
        return (y if bias is None else y + bias.double()).float()
    return run


def case(scheme, x_shape, n, bias=False, seed=0):
    rng = np.random.default_rng(seed)
    s = SpQRScheme.parse(scheme)
    q = fit_spqr(rng.standard_normal((n, x_shape[-1])).astype(np.float32), s)
    inputs = [rng.standard_normal(x_shape).astype(np.float32), q.words, q.stat_codes, q.stat_grid, q.values, q.cols,
              q.ptr]
    inputs += [rng.standard_normal(n).astype(np.float32)] if bias else []
    attrs = {"bits": s.bits, "group": s.group, "row_outliers": int(np.diff(q.ptr).max())}
    return Case("spqr_dense", inputs, attrs, torch=_torch_spqr_dense(s.bits, s.group),
                id=f"spqr_dense-{scheme}-{'x'.join(map(str, x_shape))}-n{n}{'-bias' if bias else ''}",
                rtol=1e-5, atol=1e-5)


CASES = [case("w3-spqr", (1, 512), 9), case("w4g32-spqr", (3, 256), 7, bias=True), case("w2-spqr", (2, 4, 320), 5)]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
