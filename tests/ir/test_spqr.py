"""SpQR-style quantization: parsing, the stored arrays decoded independently, outliers exactly the
requested share and exact at their positions, and the error they remove."""

import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.quantization import LANES
from kernforge.ir.spqr import STAT_BITS, SUPERGROUP, SpQRScheme, fit_spqr

RNG = np.random.default_rng(4)


def _field(words, bits, n, k):
    """Code k of row n, decoded from the packed layout's definition."""
    per = 32 // bits
    block, r = divmod(k, LANES * per)
    return (int(words[n, block * LANES + r % LANES]) >> (r // LANES) * bits) & ((1 << bits) - 1)


def test_parse():
    assert SpQRScheme.parse("w3-spqr") == SpQRScheme(3, 16) and SpQRScheme.parse("w4g32-spqr") == SpQRScheme(4, 32)
    assert SpQRScheme.parse("w3g16") is None
    with pytest.raises(KernforgeError, match="not supported"):
        SpQRScheme.parse("w5-spqr")


def test_arrays_decode_to_the_dequantized_weight_and_outliers_are_exact():
    w = RNG.standard_normal((6, 320)).astype(np.float32)
    w[RNG.random(w.shape) < 0.01] *= 10
    q = fit_spqr(w, SpQRScheme(3, 16))
    want = np.zeros(w.shape)
    for n in range(6):
        for k in range(320):
            g = k // 16
            scale, offset = (_field(q.stat_codes[t], STAT_BITS, n, g) * q.stat_grid[t, n, g // SUPERGROUP, 0]
                             + q.stat_grid[t, n, g // SUPERGROUP, 1] for t in (0, 1))
            want[n, k] = _field(q.words, 3, n, k) * scale + offset
    outliers = np.zeros(w.shape, bool)
    for n in range(6):
        for e in range(q.ptr[n], q.ptr[n + 1]):
            want[n, q.cols[e]] += q.values[e]
            outliers[n, q.cols[e]] = True
    np.testing.assert_allclose(q.dequantize(), want, rtol=1e-5, atol=1e-5)
    assert outliers.sum() == round(0.01 * w.size)
    np.testing.assert_allclose(q.dequantize()[outliers], w[outliers], rtol=1e-6, atol=1e-6)
    inliers = np.abs(q.dequantize() - w)[~outliers]
    assert inliers.max() <= np.abs(q.values).min() + 1e-6  # the outliers are the worst-fitted weights


def test_outliers_cut_the_error_and_storage_is_reported():
    w = RNG.standard_normal((32, 256)).astype(np.float32)
    w[RNG.random(w.shape) < 0.005] *= 12
    with_outliers, without = fit_spqr(w, SpQRScheme(3, 16)), fit_spqr(w, SpQRScheme(3, 16), outliers=0.0)
    sq_err = lambda q: float(np.sum((q.dequantize().astype(np.float64) - w) ** 2))
    # same codes either way: the outliers remove exactly their own squared residuals, the largest ones
    removed = float(np.sum(with_outliers.values.astype(np.float64) ** 2))
    assert sq_err(without) - sq_err(with_outliers) == pytest.approx(removed, rel=1e-4)
    assert removed > 0.01 * sq_err(without)
    assert 3 < without.bits_per_weight() < with_outliers.bits_per_weight() < 8
