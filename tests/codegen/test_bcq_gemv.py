"""The binary-coding GEMV (codegen/lower/bcq_gemv.py): subset-sum tables of 4 inputs indexed by each row's
sign bits, on AVX-512 targets, against the interpreter on the same quantized IR; where it applies."""

import numpy as np
import pytest

from kernforge.codegen.lower.bcq_gemv import bcq_gemv_applies, sign_rows
from kernforge.codegen.target import resolve_target
from kernforge.ir.bcq import BCQScheme, fit_bcq
from kernforge.ir.quantization import unpack

from .test_quant_gemv import AVX2, AVX512, check, check_or_build, dense


@pytest.mark.parametrize("scheme, k, n, rows", [("wbcq3", 256, 32, 1), ("wbcq2g64", 512, 48, 2), ("wbcq4g32", 128, 16, 4),
                                                ("wbcq1g32", 96, 64, 3)])
def test_avx512_bcq_gemv_matches_the_interpreter(scheme, k, n, rows):
    check_or_build(AVX512, dense(k, n, rows), rows, quantize=scheme)


def test_other_shapes_and_targets_take_the_te_kernel():
    avx512 = resolve_target(AVX512)
    assert bcq_gemv_applies(avx512, 1, 4096, 4096, 128)
    assert not bcq_gemv_applies(resolve_target(AVX2), 1, 4096, 4096, 128)  # 8-entry tables: 3 inputs
    assert not bcq_gemv_applies(avx512, 1, 4096, 40, 128)  # rows not whole vectors
    assert not bcq_gemv_applies(avx512, 8, 4096, 4096, 128)  # GEMM
    check(AVX2, dense(256, 32, 1), 1, quantize="wbcq3")


def test_sign_rows_put_input_t_of_each_word_at_bit_t():
    w = np.random.default_rng(0).standard_normal((16, 64)).astype(np.float32)
    q = fit_bcq(w, BCQScheme.parse("wbcq2g32"))
    words = sign_rows(64).pack(q.planes)  # [planes, K / 32, N]
    bits = (words[..., None] >> np.arange(32, dtype=np.uint32)) & 1  # [planes, chunk, N, 32]
    for plane in range(2):
        np.testing.assert_array_equal(bits[plane].transpose(1, 0, 2).reshape(16, 64), unpack(q.planes[plane], 1, 64))
