"""Smoke test of the block fusion benchmark: both comparisons run, the fused side is one block kernel,
and both sides agree with the interpreter (never timings)."""

from __future__ import annotations

import re

from kernforge.benchmarks import block_fusion


def test_both_comparisons_print_kernels_and_errors(capsys):
    assert block_fusion.main(["--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("with block-fuse   :") == 2
    assert "kernels ['block']" in out and "kernels ['conv2d+relu', 'block', 'conv2d']" in out
    errors = [float(e) for e in re.findall(r"max abs err vs interpreter ([0-9.e+-]+)", out)]
    assert len(errors) == 2 and max(errors) < 1e-4, out
    assert len(re.findall(r"speedup \d+\.\d\dx", out)) == 2
