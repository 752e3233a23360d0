"""Weight quantization math (ir/quantization.py) against independent NumPy formulations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernforge.errors import KernforgeError
from kernforge.ir.quantization import (
    BITS,
    WeightScheme,
    pack,
    quantize_activations,
    quantize_rtn,
    unpack,
    words_per_row,
)


@settings(max_examples=40, deadline=None)
@given(bits=st.sampled_from(BITS), n=st.integers(1, 5), k=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_pack_unpack_round_trips_every_bit_width(bits, n, k, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, (n, k), dtype=np.uint32)
    words = pack(codes, bits)
    assert words.dtype == np.uint32 and words.shape == (n, words_per_row(bits, k))
    np.testing.assert_array_equal(unpack(words, bits, k), codes)


def test_packed_block_puts_eight_consecutive_codes_in_one_bit_slot_of_eight_words():
    codes = np.arange(64, dtype=np.uint32)[None] % 16  # one 4-bit block: 8 words x 8 codes
    words = pack(codes, 4)
    for k in range(64):
        s, lane = divmod(k, 8)
        assert (words[0, lane] >> (4 * s)) & 15 == codes[0, k]


def _reference_rtn(w, bits, group, symmetric):
    """Per group, in plain loops: the grid from min/max (or +-absmax) and nearest-level rounding."""
    out = np.empty_like(w, dtype=np.float64)
    top = 2**bits - 1
    for r in range(w.shape[0]):
        for g0 in range(0, w.shape[1], group):
            v = w[r, g0:g0 + group].astype(np.float64)
            if symmetric:
                half = 2 ** (bits - 1)
                scale = np.abs(v).max() / max(1, half - 1) or 1.0
                offset = -half * scale
            else:
                lo, hi = min(v.min(), 0.0), max(v.max(), 0.0)
                scale = (hi - lo) / top if hi > lo else 1.0
                offset = round(lo / scale) * scale
            q = np.clip(np.rint((v - offset) / scale), 0, top)
            out[r, g0:g0 + group] = q * np.float32(scale) + np.float32(offset)
    return out


@pytest.mark.parametrize("scheme", ["w8", "w4g32", "w3g16", "w2g64", "w4g32-sym", "w8g16-sym"])
def test_round_to_nearest_matches_a_loop_reference(scheme):
    s = WeightScheme.parse(scheme)
    w = np.random.default_rng(3).standard_normal((6, 64)).astype(np.float32)
    q = quantize_rtn(w, s)
    want = _reference_rtn(w, s.bits, s.group or 64, s.symmetric)
    np.testing.assert_allclose(q.dequantize(), want, rtol=1e-6, atol=1e-6)  # float32 scale * code
    # each weight lands within half a step of its group's grid
    step = np.repeat(q.scales, s.group or 64, axis=1)
    assert np.all(np.abs(q.dequantize() - w) <= step * 0.5 + 1e-6)


def test_more_bits_give_smaller_error():
    w = np.random.default_rng(0).standard_normal((32, 256)).astype(np.float32)
    errs = [np.linalg.norm(quantize_rtn(w, WeightScheme(b, 64)).dequantize() - w) for b in (2, 3, 4, 8)]
    assert errs == sorted(errs, reverse=True)
    assert errs[-1] / np.linalg.norm(w) < 0.01


def test_zero_stays_exact_and_constant_groups_survive():
    w = np.zeros((2, 16), np.float32)
    w[1] = 0.5
    np.testing.assert_array_equal(quantize_rtn(w, WeightScheme(4, 8)).dequantize(), w)


@pytest.mark.parametrize("text", ["w5", "w4g12", "int4", "w4g", "w16"])
def test_bad_schemes_are_clear_errors(text):
    with pytest.raises(KernforgeError, match="scheme|bits|group"):
        WeightScheme.parse(text)


def test_scheme_text_round_trips():
    for text in ["w4g128", "w8", "w3g64-sym"]:
        assert str(WeightScheme.parse(text)) == text
    assert str(WeightScheme.parse("w4g128-gptq-a8")) == "w4g128-gptq-a8"
    with pytest.raises(KernforgeError, match="int8 activations"):
        WeightScheme.parse("w4-a8")  # a group is needed: int8 scales are per group


def test_int8_activations_round_per_group():
    x = np.array([[0.5, -1.27, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0]], np.float32)
    codes, scales = quantize_activations(x, 4)
    assert scales.tolist() == [[np.float32(1.27) / np.float32(127), 1.0]]  # an all-zero group: scale 1
    assert codes.tolist() == [[50, -127, 0, 1, 0, 0, 0, 0]]
    rng = np.random.default_rng(1)
    y = rng.standard_normal((3, 256)).astype(np.float32)
    c, s = quantize_activations(y, 64)
    err = np.abs(c.reshape(3, 4, 64) * s[..., None] - y.reshape(3, 4, 64))
    assert (err <= s[..., None] / 2 * (1 + 1e-6)).all() and np.abs(c).max() == 127
