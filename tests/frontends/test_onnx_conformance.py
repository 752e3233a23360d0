"""The official ONNX backend node tests through the kernforge interpreter, with the issue's thresholds."""

import os
import re

import pytest

from kernforge.benchmarks.onnx_conformance import load_exclusions, main, run_suite, summary

ALLOWED_REASONS = ("training op", "sequence type", "optional type", "string type", "random op")


@pytest.fixture(scope="module")
def results():
    return run_suite("interp", jobs=os.cpu_count() or 1)


def test_every_exclusion_is_a_permitted_category():
    for pattern, reason in load_exclusions():
        re.compile(pattern)
        assert reason.startswith(ALLOWED_REASONS), f"{pattern}: {reason}"


def test_suite_is_the_full_node_suite(results):
    assert len(results) == 1884


def test_interpreter_passes_the_thresholds(results):
    counts = summary(results)
    failed = sorted(name for name, (status, _) in results.items() if status == "failed")
    ran = counts["passed"] + counts["failed"]
    assert counts["passed"] >= 1450, failed
    assert counts["passed"] / ran >= 0.92, (counts, failed)
    assert counts["skipped"] <= 0.15 * len(results), counts


def test_only_excluded_tests_are_skipped(results):
    patterns = [re.compile(p) for p, _ in load_exclusions()]
    for name, (status, _) in results.items():
        assert (status == "skipped") == any(p.search(name) for p in patterns), name


def test_cli_ends_with_the_summary_line(capsys, tmp_path):
    out = tmp_path / "conformance.json"
    main(["-k", "^test_(relu|abs)_", "--json", str(out), "-j", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed, 0 failed, 0 skipped", last), last
    assert out.exists()


# Kept short: each test is one tvm.compile, and CI has 2 cores (the full compiled run is a benchmark).
COMPILED_SUBSET = (
    "add_bcast", "conv_with_strides_padding", "gemm_default_matrix_bias", "maxpool_2d_pads",
    "reduce_sum_keepdims_example", "reshape_negative_dim", "resize_upsample_scales_nearest", "softmax_axis_1",
    "top_k_uint64",
    # once compiled-only failures: FFT rounding, bf16 widening after a fused div, unsigned shift amounts
    "dft_inverse", "celu_bfloat16_expanded", "bitshift_right_uint64",
)


def test_compiled_mode_passes_a_diverse_subset():
    """Compiled mode (kernforge.compile per test) on node tests across op families."""
    select = "^test_(" + "|".join(COMPILED_SUBSET) + ")_cpu$"
    results = run_suite("compiled", select, jobs=2)
    assert len(results) == len(COMPILED_SUBSET)
    failed = {name: msg for name, (status, msg) in results.items() if status != "passed"}
    assert not failed, failed
