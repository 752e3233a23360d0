"""Sparse weight formats: pack/unpack round trips on random shapes (including shapes the group or
block does not divide), and the N:M layout checked entry by entry against its definition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernforge.errors import KernforgeError
from kernforge.ir.quantization import WeightScheme
from kernforge.ir.sparse_formats import (
    LANES,
    index_bits,
    nm_positions,
    pack_bsr,
    pack_csr,
    pack_fields,
    pack_nm,
    quantize_nm,
    unpack_fields,
)
from kernforge.ir.sparsity import SparsityScheme, prune

NM = [(2, 4), (1, 4), (2, 8), (4, 8), (3, 5), (1, 2)]


def random_weight(seed: int, shape, zeros: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < zeros] = 0
    return w


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NM), st.integers(1, 20), st.integers(1, 40), st.integers(0, 2**16))
def test_nm_round_trip(nm, rows, cols, seed):
    n, m = nm
    w = prune(random_weight(seed, (rows, cols), zeros=0.3), SparsityScheme("nm", n, m))
    packed = pack_nm(w, n, m)
    np.testing.assert_array_equal(packed.dense(), w)


@pytest.mark.parametrize("n, m", NM)
def test_nm_layout_entry_by_entry(n, m):
    """values[r // 8, f * 8 + r % 8] is the weight at input g * m + position, f = g * n + j."""
    w = prune(random_weight(3, (11, 3 * m + 1)), SparsityScheme("nm", n, m))
    p = pack_nm(w, n, m)
    bits, per = index_bits(m), 32 // index_bits(m)
    for r in range(w.shape[0]):
        for f in range(-(-w.shape[1] // m) * n):
            g = f // n
            word = int(p.index_words[r // LANES, (f // per) * LANES + r % LANES])
            pos = (word >> (f % per) * bits) & ((1 << bits) - 1)
            k = g * m + pos
            want = w[r, k] if k < w.shape[1] else 0.0
            assert p.values[r // LANES, f * LANES + r % LANES] == want
    positions = nm_positions(p.index_words, n, m, w.shape)
    assert (np.diff(positions, axis=-1) > 0).all()  # distinct, ascending within each group


def test_nm_pack_refuses_a_weight_without_the_pattern():
    with pytest.raises(KernforgeError, match="more than 2 nonzeros"):
        pack_nm(np.ones((2, 8), np.float32), 2, 4)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([(16, 1), (4, 4), (3, 2), (1, 8)]), st.integers(1, 40), st.integers(1, 40),
       st.integers(0, 2**16))
def test_bsr_round_trip(block, rows, cols, seed):
    w = random_weight(seed, (rows, cols), zeros=0.8)
    p = pack_bsr(w, block)
    np.testing.assert_array_equal(p.dense(), w)
    assert p.values.shape[1:] == block and len(p.indptr) == -(-rows // block[0]) + 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.floats(0, 1), st.integers(0, 2**16))
def test_csr_round_trip(rows, cols, zeros, seed):
    w = random_weight(seed, (rows, cols), zeros)
    p = pack_csr(w)
    np.testing.assert_array_equal(p.dense(), w)
    assert len(p.values) == np.count_nonzero(w) and p.indptr[-1] == len(p.values)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_fields_round_trip(bits):
    fields = np.random.default_rng(bits).integers(0, 1 << bits, (13, 37)).astype(np.uint32)
    np.testing.assert_array_equal(unpack_fields(pack_fields(fields, bits), bits, 13, 37), fields)


@pytest.mark.parametrize("bits, group", [(4, 8), (8, 0), (2, 16), (3, 8)])
def test_quantized_nm_is_within_half_a_step_of_its_values(bits, group):
    w = prune(random_weight(9, (11, 64)), SparsityScheme("nm", 2, 4))
    q = quantize_nm(pack_nm(w, 2, 4), WeightScheme(bits, group))
    got = q.dense()
    assert (got[w == 0] == 0).all()  # pruned weights are not stored: exactly zero
    kept, got_kept = w[w != 0].reshape(11, 32), got[w != 0].reshape(11, 32)  # row-major = entry order
    scales = q.scales.reshape(2, -1, LANES).transpose(0, 2, 1).reshape(16, -1)[:11]  # undo the row blocks
    steps = np.repeat(scales, group or 32, axis=1)
    assert (np.abs(got_kept - kept) <= steps / 2 * (1 + 1e-5)).all()
