"""The quantize pass's target-aware cost rule (passes/target_traits.py): where the target's dense low-bit
GEMV beats N:M sparse, a pruned GEMV layer is quantized dense and the decision printed; elsewhere N:M stays."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.lower.quant_gemv_bf16 import dense_low_bit_gemv
from kernforge.codegen.target import resolve_target
from kernforge.ir import Builder, interpret
from kernforge.ir.target_traits import DenseLowBitGemv, TargetTraits
from kernforge.passes.target_traits import target_traits

FAST = DenseLowBitGemv((2, 3, 4), 4, 32)
BF16 = {"kind": "llvm", "mcpu": "znver4"}


def layer(rows: int, k: int = 256, n: int = 48):
    b = Builder("q")
    f = b.function()
    x = f.arg("x", [rows, k], "f32")
    w = b.param("w", np.random.default_rng(0).standard_normal((n, k)).astype(np.float32) * 0.05)
    f.ret(f.op("relu", f.op("dense", x, w)))
    return b.module


def prepared(module, traits, quantize="w4g64", sparsity="2:4"):
    with target_traits(TargetTraits(traits)):
        return kernforge.api.prepare(module, sparsity=sparsity, prune=True, quantize=quantize)


def test_gemv_layer_is_quantized_dense_where_the_dense_kernel_is_faster(capfd):
    ir = str(prepared(layer(1), FAST))
    assert "quant_dense(" in ir and "nm_quant_linear(" not in ir
    assert "2:4 kept dense: 48x256" in capfd.readouterr().err


@pytest.mark.parametrize("rows, quantize, traits, sparsity", [
    (1, "w4g64", None, "2:4"), (6, "w4g64", FAST, "1:4"), (1, "w8", FAST, "2:4"), (1, "w4g16", FAST, "2:4")])
def test_n_m_stays_without_the_trait_for_gemms_and_other_widths(rows, quantize, traits, sparsity):
    # 6 rows: 1:4, since 2:4 over 3 or more rows stays dense without a lookup GEMM (ir/sparsity.py)
    ir = str(prepared(layer(rows), traits, quantize, sparsity))
    assert "nm_quant_linear(" in ir and "quant_dense(" not in ir


def test_the_trait_follows_the_target():
    assert dense_low_bit_gemv(resolve_target(BF16)) == FAST
    assert dense_low_bit_gemv(resolve_target({"kind": "llvm", "mcpu": "znver3"})) is None


def test_compiled_dense_choice_matches_the_interpreter_on_its_ir():
    module, x = layer(2), np.random.default_rng(1).standard_normal((2, 256)).astype(np.float32)
    if not resolve_target(None).has_features("avx512bf16"):  # this host cannot run it: it must still build
        assert "quant_dense(" in kernforge.compile(module, target=BF16, sparsity="2:4", prune=True,
                                                   quantize="w4g64").ir()
        return
    cm = kernforge.compile(module, target=BF16, sparsity="2:4", prune=True, quantize="w4g64")
    assert "quant_dense(" in cm.ir() and "nm_quant_linear(" not in cm.ir()
    (got,) = cm.run([x]).values()
    (want,) = interpret(prepared(module, FAST), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # the bf16 kernel: 16 significant bits of x
