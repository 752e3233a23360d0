"""Sparsity schemes: parsing and its errors, magnitude pruning against brute force, detection and
the cost rule."""

import itertools

import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.sparsity import SparsityScheme, fits, pays_off, prune, stored_density

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("text, kind", [("2:4", "nm"), ("bsr:16x1:0.8", "bsr"), ("bsr:4x4", "bsr"),
                                        ("unstructured:0.9", "csr"), ("unstructured", "csr")])
def test_parse_round_trips(text, kind):
    s = SparsityScheme.parse(text)
    assert s.kind == kind and str(s) == text


@pytest.mark.parametrize("text, msg", [("4:2", "0 < N < M"), ("2-4", "unknown sparsity scheme"),
                                       ("unstructured:1.5", r"must be in \[0, 1\)"), ("bsr:0x4", "at least 1x1")])
def test_bad_schemes_are_clear_errors(text, msg):
    with pytest.raises(KernforgeError, match=msg):
        SparsityScheme.parse(text)


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (3, 8)])
def test_prune_nm_keeps_the_largest_of_every_group(n, m):
    w = RNG.standard_normal((5, 4 * m)).astype(np.float32)
    p = prune(w, SparsityScheme("nm", n, m))
    for r, g in itertools.product(range(5), range(4)):
        group, kept = np.abs(w[r, g * m:(g + 1) * m]), p[r, g * m:(g + 1) * m]
        best = max(itertools.combinations(range(m), n), key=lambda c: sum(group[list(c)]))
        assert set(np.nonzero(kept)[0]) == set(best)
    assert fits(p, SparsityScheme("nm", n, m)) and not fits(w, SparsityScheme("nm", n, m))


def test_prune_blocks_drops_the_smallest_blocks():
    w = RNG.standard_normal((32, 24)).astype(np.float32)
    s = SparsityScheme.parse("bsr:16x1:0.75")
    p = prune(w, s)
    blocks = p.reshape(2, 16, 24).transpose(0, 2, 1).reshape(48, 16)
    kept = np.abs(blocks).sum(axis=1) > 0
    norms = np.linalg.norm(w.reshape(2, 16, 24).transpose(0, 2, 1).reshape(48, 16), axis=1)
    assert kept.sum() == 12 and norms[kept].min() >= norms[~kept].max()
    assert stored_density(p, s) == 0.25 and fits(p, s) and pays_off(p, s)


def test_unstructured_pruning_and_the_cost_rule():
    w = RNG.standard_normal((20, 20)).astype(np.float32)
    p90 = prune(w, SparsityScheme.parse("unstructured:0.9"))
    assert np.count_nonzero(p90) == 40 and np.abs(p90).min(initial=np.inf) == 0
    assert np.abs(w[p90 != 0]).min() >= np.abs(w[p90 == 0]).max()
    p50 = prune(w, SparsityScheme.parse("unstructured:0.5"))
    assert pays_off(p90, SparsityScheme.parse("unstructured")) and not pays_off(p50, SparsityScheme.parse("unstructured"))
    assert not fits(p50, SparsityScheme.parse("unstructured:0.6"))


def test_pruning_without_a_target_is_a_clear_error():
    with pytest.raises(KernforgeError, match="needs a target sparsity"):
        prune(np.ones((4, 4), np.float32), SparsityScheme.parse("bsr:2x2"))


def test_nm_break_even_depends_on_the_input_rows():
    w = RNG.standard_normal((16, 32)).astype(np.float32)
    two, one = SparsityScheme.parse("2:4"), SparsityScheme.parse("1:4")
    assert pays_off(prune(w, two), two, rows=1) and not pays_off(prune(w, two), two, rows=128)
    assert pays_off(prune(w, two), two, rows=2) and not pays_off(prune(w, two), two, rows=3)  # the row form's limit
    assert pays_off(prune(w, one), one, rows=128) and not pays_off(prune(w, two), two, rows=None)
