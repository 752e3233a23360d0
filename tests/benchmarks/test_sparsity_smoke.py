"""Smoke test of the sparsity benchmark on small shapes: each case's sparse side runs the kernel its
scheme names, its weights are smaller, and it matches the dense kernel (never timings)."""

from __future__ import annotations

from kernforge.benchmarks import sparsity
from kernforge.benchmarks.sparsity import Case

SMALL = [
    Case("gemv 2:4", "linear", 1, 256, 64, "2:4"),
    # an AVX2 target: with AVX512-BF16 the quantize pass keeps a 2:4 + int4 GEMV dense (faster there)
    Case("gemv 2:4+w4", "linear", 1, 256, 64, "2:4", {"quantize": "w4g64"},
         {"quantize": "w4g64", "target": {"kind": "llvm", "mcpu": "znver3"}}),
    Case("gemm bsr", "linear", 64, 64, 48, "bsr:16x1:0.8"),
    Case("conv csr", "conv1x1", 64, 32, 16, "unstructured:0.9"),
]


def test_rows_ops_sizes_and_errors():
    rows = sparsity.measure(SMALL, repeat=5)
    assert [r["op"] for r in rows] == ["nm_linear", "nm_quant_linear", "bsr_linear", "csr_linear"]
    assert all(r["mb"] < r["dense_mb"] for r in rows)
    # float32 sums in another order; the quantized pair rounds to the same grid (it spans zero either way)
    assert all(r["rel_err"] < 1e-5 for r in rows)
