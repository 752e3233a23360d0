"""The N:M lookup GEMM (codegen/lower/nm_gemm.py): lanes are 16 output rows, each picking its input from a
window of 16 with vpermps; against the interpreter on the same IR, its weight layouts, and the cost rule
that lets the sparsify pass choose it (passes/target_traits.py)."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.lower.nm_gemm import lookup_nm_gemm
from kernforge.codegen.lower.row_block_gemm import lane_blocks
from kernforge.codegen.target import resolve_target
from kernforge.ir import interpret
from kernforge.ir.target_traits import LookupNMGemm, TargetTraits
from kernforge.passes.target_traits import target_traits

from .test_nm_linear import nm_module
from .test_quant_gemv import AVX2, AVX512, dense

HOST_HAS_AVX512 = resolve_target(None).vector_bits >= 512
TRAIT = LookupNMGemm(16, 8, 0.7)

# x shape, outputs, n, m: 13 and 29 rows end in a partial tile of rows (12 a tile); two leading dims;
# m of 2, 4, 8 and 16 (the whole window)
CASES = [((13, 64), 32, 2, 4), ((29, 48), 16, 1, 4), ((2, 9, 80), 48, 2, 8), ((24, 64), 16, 4, 8),
         ((12, 32), 32, 8, 16), ((8, 32), 16, 1, 2)]


def takes_gemm(cm) -> bool:
    """Whether the compiled code holds the lookup GEMM (its extern stage, named nm_gemm)."""
    return "nm_gemm" in cm._lib.mod.inspect_source("ll")


@pytest.mark.parametrize("xshape, outputs, n, m", CASES)
def test_lookup_gemm_matches_the_interpreter(xshape, outputs, n, m):
    module = nm_module(xshape, outputs, n, m, residual=True)
    cm = kernforge.compile(module, target=AVX512)
    assert takes_gemm(cm) and len(cm.executor.plan.kernels) == 1  # bias, relu, add fused
    if not HOST_HAS_AVX512:  # this host cannot run it: it must still build
        assert "vperm" in cm._lib.mod.inspect_source("asm")
        return
    x = np.random.default_rng(2).standard_normal(xshape).astype(np.float32)
    r = np.random.default_rng(3).standard_normal((*xshape[:-1], outputs)).astype(np.float32)
    (got,) = cm.run([x, r]).values()
    (want,) = interpret(module, [x, r]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums in another order than NumPy's


def test_other_shapes_and_targets_keep_the_earlier_forms():
    assert not takes_gemm(kernforge.compile(nm_module((16, 64), 40, 1, 4), target=AVX512))  # 40 outputs
    assert not takes_gemm(kernforge.compile(nm_module((16, 60), 16, 2, 4), target=AVX512))  # 60 inputs
    assert not takes_gemm(kernforge.compile(nm_module((4, 64), 16, 2, 4), target=AVX512))  # 4 rows
    assert not takes_gemm(kernforge.compile(nm_module((16, 64), 16, 2, 4), target=AVX2))
    assert lookup_nm_gemm(resolve_target(AVX2)) is None and lookup_nm_gemm(resolve_target(AVX512)) is not None


def test_lane_blocks_put_sixteen_rows_innermost():
    a = np.arange(32 * 5).reshape(32, 5)
    b = lane_blocks(a, 16)
    assert b.shape == (2, 80)
    for o, f in [(0, 0), (17, 3), (31, 4), (5, 2)]:
        assert b[o // 16, f * 16 + o % 16] == a[o, f]


def prepared(traits: TargetTraits, rows: int, sparsity: str):
    with target_traits(traits):
        return str(kernforge.api.prepare(dense(64, 32, rows), sparsity=sparsity, prune=True))


@pytest.mark.parametrize("sparsity, rows, traits, kept", [
    ("2:4", 128, TargetTraits(), False),  # target-independent rule: 2:4 no faster than the dense GEMM
    ("2:4", 128, TargetTraits(lookup_nm_gemm=TRAIT), True),
    ("3:4", 128, TargetTraits(lookup_nm_gemm=TRAIT), False),  # density 0.75: above the kernel's break-even
    ("2:3", 128, TargetTraits(lookup_nm_gemm=TRAIT), False),  # groups of 3 do not tile a window
])
def test_the_cost_rule_takes_the_lookup_kernel_s_break_even(sparsity, rows, traits, kept, capfd):
    ir = prepared(traits, rows, sparsity)
    assert ("nm_linear(" in ir) == kept
    if not kept:
        assert "is above the nm break-even" in capfd.readouterr().err


def test_compile_sparsifies_a_gemm_where_the_target_has_the_kernel():
    module = dense(64, 32, 24)
    cm = kernforge.compile(module, target=AVX512, sparsity="2:4", prune=True)
    assert "nm_linear(" in cm.ir() and takes_gemm(cm)
    assert "nm_linear(" not in kernforge.compile(module, target=AVX2, sparsity="2:4", prune=True).ir()


@pytest.mark.parametrize("sparsity, quantize, k, outputs, rows", [
    ("2:4", "w4g32", 128, 32, 24), ("1:4", "w3", 160, 16, 13), ("2:8", "w4g32-sym", 256, 48, 9), ("4:8", "w2g64", 64, 16, 30)])
def test_quantized_kept_values_decode_once_per_block(sparsity, quantize, k, outputs, rows):
    """nm_quant_linear over many rows: each block's codes become float32 values before its tiles of rows."""
    module, options = dense(k, outputs, rows), {"sparsity": sparsity, "prune": True, "quantize": quantize}
    cm = kernforge.compile(module, target=AVX512, **options)
    assert "nm_quant_linear(" in cm.ir() and takes_gemm(cm) and len(cm.executor.plan.kernels) == 1
    if not HOST_HAS_AVX512:
        assert "vperm" in cm._lib.mod.inspect_source("asm")
        return
    x = np.random.default_rng(5).standard_normal((rows, k)).astype(np.float32)
    (got,) = cm.run([x]).values()
    with target_traits(TargetTraits(lookup_nm_gemm=TRAIT)):
        (want,) = interpret(kernforge.api.prepare(module, **options), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums in another order than NumPy's
