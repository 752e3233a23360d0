"""The weight-only quantized GEMM (codegen/lower/quant_gemm.py): each block of output rows decoded once
into float32, then an outer-product loop per tile of rows of x; against the interpreter on the
quantized IR, on AVX2 (8 lanes) and AVX-512 (16 lanes) targets, and its code layout."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.lower.quant_gemm import pack_rows, quant_gemm_lanes
from kernforge.codegen.target import resolve_target
from kernforge.ir.quantization import pack

from .test_quant_gemv import AVX2, AVX512, check, check_or_build, dense


def packs(cm) -> list[str]:
    return [name.split("@")[1] for step in cm.executor.plan.steps for name in step.inputs if "@" in name]


# (scheme, K, outputs, rows): 3-bit codes pack 10 to a word, so 100 inputs end inside one and groups of
# 24 inside words;
# 84 = 10.5 words of 4-bit codes; 13 and 29 rows end in a partial tile (12 rows a tile); 13 and 40
# outputs end in a partial vector (padded)
CASES = [("w4g128", 256, 32, 8), ("w3", 100, 16, 13), ("w3g24", 240, 48, 29), ("w8g32-sym", 96, 16, 12),
         ("w2g64", 192, 32, 24), ("w4", 84, 16, 9), ("w4g32", 64, 13, 10), ("w3", 100, 40, 17), ("w4g64", 128, 32, 5)]


@pytest.mark.parametrize("scheme, k, outputs, rows", CASES)
def test_avx2_gemm_matches_the_interpreter(scheme, k, outputs, rows):
    cm = check(AVX2, dense(k, outputs, rows), rows, quantize=scheme)
    assert packs(cm) == [f"quant_gemm_codes{scheme[1]}k{k}x8", "quant_gemm_grid8", "quant_gemm_grid8"]
    assert cm.executor.param_arrays[f"w_{scheme[1]}b@quant_gemm_codes{scheme[1]}k{k}x8"].shape[0] == -(-outputs // 8)


@pytest.mark.parametrize("scheme, k, outputs, rows", CASES)
def test_avx512_gemm_matches_the_interpreter(scheme, k, outputs, rows):
    check_or_build(AVX512, dense(k, outputs, rows), rows, quantize=scheme)


def test_row_layout_holds_each_row_s_codes_in_order():
    rng = np.random.default_rng(0)
    for bits, k in [(4, 84), (3, 100), (2, 64), (8, 20)]:
        codes = rng.integers(0, 1 << bits, size=(13, k), dtype=np.uint32)
        rows = pack_rows(pack(codes, bits), bits, k, 8)  # [2, words * 8]: rows 13..15 zero
        per = 32 // bits
        assert rows.shape == (2, -(-k // per) * 8) and not rows[1, 5::8].any()
        for o, kk in [(0, 0), (9, k - 1), (12, k // 2), (3, per)]:
            word = rows[o // 8, kk // per * 8 + o % 8]
            assert (word >> (kk % per * bits)) & ((1 << bits) - 1) == codes[o, kk]


def test_few_rows_take_the_gemv_kernels():
    avx512 = resolve_target(AVX512)
    assert quant_gemm_lanes(avx512, 8) == 16 and quant_gemm_lanes(resolve_target(AVX2), 8) == 8
    assert quant_gemm_lanes(avx512, 4) is None and quant_gemm_lanes(avx512, 5) == 16  # 4 rows: a GEMV
    cm = kernforge.compile(dense(128, 32, 16), target=AVX2, quantize="w4g64-a8")  # int8 activations: own kernel
    assert not any(p.startswith("quant_gemm") for p in packs(cm))
