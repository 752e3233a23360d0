"""The N:M sparse + quantized GEMV kernel (codegen/lower/nm_quant_gemv.py): lanes are output rows, the
code's value and the picked input are table lookups; against the interpreter on the pruned, quantized IR."""

import pytest

from kernforge.codegen.lower.nm_quant_gemv import nm_gemv_lanes
from kernforge.codegen.target import resolve_target

from .test_quant_gemv import AVX2, AVX512, check, check_or_build, dense

ATTRS = {"n": 2, "m": 4, "bits": 4, "group": 64}


# (sparsity, quantize, K, outputs, rows): m of 4, 8 and 16 (the whole vector); 3-bit codes and 3-bit
# positions pack 10 to a word, so only whole rows of 80 entries make a stretch
AVX512_CASES = [("2:4", "w4g32", 256, 48, 1), ("1:4", "w4", 128, 32, 3), ("4:16", "w4g32", 256, 64, 2),
                ("4:8", "w2", 320, 16, 1)]
AVX2_CASES = [("2:4", "w3", 320, 24, 1), ("2:4", "w2g32", 256, 16, 4), ("2:8", "w2", 640, 8, 2)]


@pytest.mark.parametrize("nm, scheme, k, outputs, rows", AVX512_CASES)
def test_avx512_sparse_gemv_matches_the_interpreter(nm, scheme, k, outputs, rows):
    check_or_build(AVX512, dense(k, outputs, rows), rows, sparsity=nm, prune=True, quantize=scheme)


@pytest.mark.parametrize("nm, scheme, k, outputs, rows", AVX2_CASES)
def test_avx2_sparse_gemv_matches_the_interpreter(nm, scheme, k, outputs, rows):
    check(AVX2, dense(k, outputs, rows), rows, sparsity=nm, prune=True, quantize=scheme)


def test_the_kernel_takes_whole_vectors_of_rows_and_aligned_stretches():
    avx2, avx512 = resolve_target(AVX2), resolve_target(AVX512)
    assert nm_gemv_lanes(avx512, 1, 4096, 4096, ATTRS) == 16
    assert nm_gemv_lanes(avx2, 1, 4096, 4096, ATTRS) is None  # 4-bit codes: AVX2's table holds 8
    assert nm_gemv_lanes(avx512, 1, 4096, 40, ATTRS) is None  # 40 rows: not whole vectors
    assert nm_gemv_lanes(avx512, 8, 4096, 4096, ATTRS) is None  # GEMM
    assert nm_gemv_lanes(avx512, 1, 4096, 4096, {**ATTRS, "m": 6}) is None  # a table cannot repeat 6 inputs
    assert nm_gemv_lanes(avx512, 1, 4096, 4096, {**ATTRS, "bits": 3, "group": 128}) is None  # 80 | 128? no
