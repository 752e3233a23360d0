"""Binary-coding quantization: scheme parsing, the packed planes decoded bit by bit against the weights
they rebuild, error falling with planes, and the alternating refinement beating its greedy start."""

import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.bcq import BCQScheme, _greedy, fit_bcq
from kernforge.ir.quantization import LANES, WeightScheme, quantize_rtn

RNG = np.random.default_rng(3)


def test_parse():
    assert BCQScheme.parse("wbcq3") == BCQScheme(3, 128) and BCQScheme.parse("wbcq2g64") == BCQScheme(2, 64)
    assert BCQScheme.parse("w4g128") is None
    with pytest.raises(KernforgeError, match="1 to 4 planes"):
        BCQScheme.parse("wbcq5")
    with pytest.raises(KernforgeError, match="multiple of 8"):
        BCQScheme.parse("wbcq3g12")


@pytest.mark.parametrize("planes, group", [(1, 32), (3, 64), (2, 0)])
def test_planes_decode_bit_by_bit_to_the_dequantized_weight(planes, group):
    w = RNG.standard_normal((9, 128)).astype(np.float32)
    q = fit_bcq(w, BCQScheme(planes, group))
    g = group or 128
    want = np.zeros(w.shape)
    for n in range(9):
        for k in range(128):
            block, r = divmod(k, LANES * 32)
            for i in range(planes):
                word = int(q.planes[i, n, block * LANES + r % LANES])
                sign = 1 if (word >> (r // LANES)) & 1 else -1
                want[n, k] += q.alphas[n, k // g, i] * sign
    np.testing.assert_allclose(q.dequantize(), want, rtol=1e-6, atol=1e-6)


def test_error_falls_with_planes_and_refinement_beats_greedy():
    w = RNG.standard_normal((32, 256))
    errs = [np.linalg.norm(fit_bcq(w, BCQScheme(p, 128)).dequantize() - w) for p in (1, 2, 3, 4)]
    assert errs == sorted(errs, reverse=True)
    signs, alphas = _greedy(w.reshape(32, 2, 128), 3)
    greedy = np.linalg.norm((signs * alphas[..., None, :]).sum(-1).reshape(32, 256) - w)
    assert errs[2] < 0.95 * greedy
    # non-uniform levels: three planes beat a uniform 3-bit grid on Gaussian weights
    assert errs[2] < np.linalg.norm(quantize_rtn(w.astype(np.float32), WeightScheme(3, 128)).dequantize() - w)
