"""The weight-only GEMV kernels (codegen/lower/quant_gemv.py and quant_gemv_bf16.py): a few rows of x
against 2-, 3- and 4-bit codes decoded by table lookups in registers, on AVX2 (8 lanes), AVX-512 (16
lanes) and AVX512-BF16 targets, against the interpreter on the same quantized IR; where each applies."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.lower.quant_gemv import gemv_lanes
from kernforge.codegen.lower.quant_gemv_bf16 import bf16_applies, pack_lanes
from kernforge.codegen.target import Target, resolve_target
from kernforge.ir import Builder, interpret
from kernforge.ir.quantization import WeightScheme, pack

AVX2 = {"kind": "llvm", "mcpu": "znver3"}
AVX512 = {"kind": "llvm", "mcpu": "skylake-avx512"}  # AVX-512 without BF16: the float32 kernel
BF16 = {"kind": "llvm", "mcpu": "znver4"}
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


def check(target: dict, module, rows: int, **options):
    """Compile with options (quantize=, sparsity=) for target; one kernel, matching the interpreter."""
    cm = kernforge.compile(module, target=target, **options)
    assert len(cm.executor.plan.kernels) == 1  # bias and relu fused
    k = module.main.args[0].type.shape[-1]
    x = np.random.default_rng(1).standard_normal((rows, k)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, **options), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums, reordered by lanes and groups
    return cm


def check_or_build(target: dict, module, rows: int, **options) -> None:
    """check() where this host runs the target's vectors; else the kernel must still build for it."""
    if resolve_target(target).vector_lanes_f32 > HOST_LANES:
        assert "vperm" in kernforge.compile(module, target=target, **options)._lib.mod.inspect_source("asm")
        return
    check(target, module, rows, **options)


# 3-bit blocks hold 80 codes: 256 and 208 inputs end inside a block; 13 and 7 rows leave tiles of 1;
# 8-bit codes: masked in place (the top field shifted down on AVX2)
CASES = [("w4g32", 256, 40, 1), ("w3g32", 256, 13, 2), ("w2g64", 256, 40, 4), ("w3", 208, 7, 1),
         ("w2g32-sym", 96, 24, 3), ("w3g128", 384, 12, 1), ("w8", 192, 12, 2), ("w8g64-sym", 128, 9, 1)]


@pytest.mark.parametrize("scheme, k, n, rows", CASES)
def test_avx2_gemv_matches_the_interpreter(scheme, k, n, rows):
    check(AVX2, dense(k, n, rows), rows, quantize=scheme)  # 4-bit codes: masked in place, x scaled


@pytest.mark.parametrize("scheme, k, n, rows", [("w4", 192, 12, 2), ("w4g64-sym", 128, 8, 3), ("w4g128", 256, 7, 1)])
def test_avx2_masked_4bit_codes_match_the_interpreter(scheme, k, n, rows):
    """Every field of a word, the top one (shifted down: AVX2 converts signed) included."""
    check(AVX2, dense(k, n, rows), rows, quantize=scheme)


@pytest.mark.parametrize("scheme, k, n, rows", CASES)
def test_avx512_gemv_matches_the_interpreter(scheme, k, n, rows):
    check_or_build(AVX512, dense(k, n, rows), rows, quantize=scheme)


def test_the_kernel_takes_few_rows_narrow_codes_and_whole_vectors():
    avx2, avx512 = resolve_target(AVX2), resolve_target(AVX512)
    assert gemv_lanes(avx512, 1, 4096, 128, 4) == 16 and gemv_lanes(avx2, 1, 4096, 128, 3) == 8
    assert gemv_lanes(avx2, 1, 4096, 128, 4) == 8  # masked: 16 code values do not fit AVX2's 8-entry table
    assert gemv_lanes(avx512, 1, 4096, 128, 8) == 16 and gemv_lanes(avx2, 1, 4096, 0, 8) == 8  # masked
    assert gemv_lanes(avx512, 5, 4096, 128, 4) is None  # GEMM: weights reused across rows
    assert gemv_lanes(avx512, 1, 4104, 0, 4) is None  # inputs not a whole number of vectors
    assert gemv_lanes(avx512, 1, 4096, 1024, 3) is None  # 3-bit blocks and groups align only after 320 vectors
    assert gemv_lanes(Target("cuda", {}), 1, 4096, 128, 4) is None


BF16_CASES = [("w4g128", 512, 40, 1), ("w3g128", 640, 12, 2), ("w2g32", 256, 24, 4), ("w3", 224, 7, 1),
              ("w4g64-sym", 384, 16, 3)]


@pytest.mark.parametrize("scheme, k, n, rows", BF16_CASES)
def test_bf16_gemv_matches_the_interpreter(scheme, k, n, rows):
    """x split into two bf16 parts keeps 16 significant bits (error <= 2^-17 of each input): within
    the float32 tolerance of the other kernels."""
    module = dense(k, n, rows)
    assert bf16_applies(resolve_target(BF16), rows, k, WeightScheme.parse(scheme).group, int(scheme[1]))
    if not resolve_target(None).has_features("avx512bf16"):  # this host cannot run it: it must still build
        assert "vdpbf16ps" in kernforge.compile(module, target=BF16, quantize=scheme)._lib.mod.inspect_source("asm")
        return
    cm = kernforge.compile(module, target=BF16, quantize=scheme)
    assert any("@bf16_lanes" in name for name in cm.executor.param_arrays)  # the weight in 16-bit lanes
    check(BF16, module, rows, quantize=scheme)


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_lanes_pack_puts_each_code_in_its_step_and_lane(bits):
    k, per = 320, 16 // bits
    codes = np.random.default_rng(bits).integers(0, 2**bits, (3, k)).astype(np.uint32)
    lanes = pack_lanes(pack(codes, bits), bits, k).view(np.uint16).reshape(3, -1, 32)  # [N, loads, lane]
    for s in range(k // 32):  # code 32 s + l: lane l of load s // per, at bit (s % per) * bits
        got = (lanes[:, s // per] >> (s % per * bits)) & (2**bits - 1)
        np.testing.assert_array_equal(got, codes[:, 32 * s:32 * s + 32])


def test_bf16_kernel_needs_the_feature_and_whole_steps():
    bf16 = resolve_target(BF16)
    assert not bf16_applies(resolve_target(AVX512), 1, 4096, 128, 4)  # skylake-avx512 has no BF16
    assert not bf16_applies(bf16, 1, 4096, 128, 8)  # 8-bit codes: the TE kernel
    assert not bf16_applies(bf16, 1, 4112, 0, 4)  # inputs not whole steps of 32
    assert not bf16_applies(bf16, 1, 4096, 16, 4)  # groups smaller than a step
    assert not bf16_applies(bf16, 8, 4096, 128, 4)  # GEMM
