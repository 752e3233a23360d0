"""The weight-only GEMV kernel (codegen/lower/quant_gemv.py): a few rows of x against 2-, 3- and 4-bit
codes decoded by table lookups in registers, on AVX2 (8 lanes) and AVX-512 (16 lanes) targets, against
the interpreter on the same quantized IR; where it applies, and where the TE kernel stays."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.lower.quant_gemv import gemv_lanes
from kernforge.codegen.target import Target, resolve_target
from kernforge.ir import Builder, interpret

AVX2 = {"kind": "llvm", "mcpu": "znver3"}
AVX512 = {"kind": "llvm", "mcpu": "znver4"}
HOST_LANES = resolve_target(None).vector_lanes_f32


def dense(k: int, n: int, rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = Builder("gemv")
    f = b.function()
    x = f.arg("x", [rows, k], "f32")
    w = b.param("w", rng.standard_normal((n, k)).astype(np.float32) * 0.05)
    bias = b.param("b", rng.standard_normal(n).astype(np.float32))
    f.ret(f.op("relu", f.op("dense", x, w, bias)))
    return b.module


def check(target: dict, module, rows: int, **options) -> None:
    """Compile with options (quantize=, sparsity=) for target; one kernel, matching the interpreter."""
    cm = kernforge.compile(module, target=target, **options)
    assert len(cm.executor.plan.kernels) == 1  # bias and relu fused
    k = module.main.args[0].type.shape[-1]
    x = np.random.default_rng(1).standard_normal((rows, k)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, **options), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums, reordered by lanes and groups


def check_or_build(target: dict, module, rows: int, **options) -> None:
    """check() where this host runs the target's vectors; else the kernel must still build for it."""
    if resolve_target(target).vector_lanes_f32 > HOST_LANES:
        assert "vperm" in kernforge.compile(module, target=target, **options)._lib.inspect_source("asm")
        return
    check(target, module, rows, **options)


# 3-bit blocks hold 80 codes: 256 and 208 inputs end inside a block; 13 and 7 rows leave tiles of 1
CASES = [("w4g32", 256, 40, 1), ("w3g32", 256, 13, 2), ("w2g64", 256, 40, 4), ("w3", 208, 7, 1),
         ("w2g32-sym", 96, 24, 3), ("w3g128", 384, 12, 1)]


@pytest.mark.parametrize("scheme, k, n, rows", CASES)
def test_avx2_gemv_matches_the_interpreter(scheme, k, n, rows):
    check(AVX2, dense(k, n, rows), rows, quantize=scheme)  # 4-bit codes do not fit AVX2's table: the TE kernel


@pytest.mark.parametrize("scheme, k, n, rows", CASES)
def test_avx512_gemv_matches_the_interpreter(scheme, k, n, rows):
    check_or_build(AVX512, dense(k, n, rows), rows, quantize=scheme)


def test_the_kernel_takes_few_rows_narrow_codes_and_whole_vectors():
    avx2, avx512 = resolve_target(AVX2), resolve_target(AVX512)
    assert gemv_lanes(avx512, 1, 4096, 128, 4) == 16 and gemv_lanes(avx2, 1, 4096, 128, 3) == 8
    assert gemv_lanes(avx2, 1, 4096, 128, 4) is None  # 16 code values do not fit AVX2's 8-entry table
    assert gemv_lanes(avx512, 1, 4096, 128, 8) is None  # 8-bit codes: the TE kernel (mask and convert)
    assert gemv_lanes(avx512, 5, 4096, 128, 4) is None  # GEMM: weights reused across rows
    assert gemv_lanes(avx512, 1, 4104, 0, 4) is None  # inputs not a whole number of vectors
    assert gemv_lanes(avx512, 1, 4096, 1024, 3) is None  # 3-bit blocks and groups align only after 320 vectors
    assert gemv_lanes(Target("cuda", {}), 1, 4096, 128, 4) is None
