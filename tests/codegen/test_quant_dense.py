"""Weight-only quantized models end to end: kernforge.compile(quantize=...) and the CLI's --quantize,
compiled kernels (epilogues fused) against the interpreter on the same quantized IR, and the
quantization error against float32."""

import subprocess
import sys

import numpy as np
import pytest

import kernforge
from kernforge.errors import KernforgeError
from kernforge.ir import Builder, interpret

RNG = np.random.default_rng(7)


def mlp(k=256, hidden=96, n=40, batch=2):
    """dense + bias + gelu, then matmul + add: the epilogues fuse into the quantized kernels."""
    b = Builder("mlp")
    f = b.function()
    x = f.arg("x", [batch, k], "f32")
    w1 = b.param("w1", RNG.standard_normal((hidden, k)).astype(np.float32) * 0.05)
    b1 = b.param("b1", RNG.standard_normal(hidden).astype(np.float32))
    w2 = b.param("w2", RNG.standard_normal((hidden, n)).astype(np.float32) * 0.1)
    c = b.param("c", RNG.standard_normal(n).astype(np.float32))
    h = f.op("gelu", f.op("dense", x, w1, b1))
    f.ret(f.op("add", f.op("matmul", h, w2), c))
    return b.module


@pytest.mark.parametrize("scheme", ["w8", "w4g32", "w3g32", "w2g32-sym"])
def test_quantized_model_matches_the_interpreter_on_its_ir(scheme):
    module = mlp()
    cm = kernforge.compile(module, quantize=scheme)
    assert cm.ir().count("quant_dense(") == 2 and "#quant<bits=" in cm.ir()
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize=scheme), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums, reordered by groups


def test_quantization_error_shrinks_with_bits_and_kernels_fuse():
    module, x = mlp(), RNG.standard_normal((2, 256)).astype(np.float32)
    (ref,) = kernforge.compile(module).run([x]).values()
    errs = {}
    for scheme in ["w8", "w4g32", "w2g32"]:
        cm = kernforge.compile(module, quantize=scheme)
        (out,) = cm.run([x]).values()
        errs[scheme] = np.linalg.norm(out - ref) / np.linalg.norm(ref)
        assert len(cm.executor.plan.kernels) == 2  # each quant_dense with its bias/gelu/add epilogue
    assert errs["w8"] < 0.01 < errs["w4g32"] < 0.2 and errs["w4g32"] < errs["w2g32"], errs


@pytest.mark.parametrize("scheme, layers", [("wbcq3", 1), ("wbcq2g32", 2)])  # wbcq3's groups of 128: 96 inputs stay float
def test_binary_coded_model_matches_the_interpreter_on_its_ir(scheme, layers):
    module = mlp()
    cm = kernforge.compile(module, quantize=scheme)
    assert cm.ir().count("bcq_dense(") == layers and "#bcq<planes=" in cm.ir()
    assert len(cm.executor.plan.kernels) == 2  # epilogues fused
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize=scheme), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums, reordered by groups and planes


def test_spqr_model_matches_the_interpreter_with_its_outliers_in_the_kernel():
    module = mlp()
    cm = kernforge.compile(module, quantize="w3-spqr")
    assert cm.ir().count("spqr_dense(") == 2 and "#spqr<bits=3, group=16, outliers=csr>" in cm.ir()
    assert len(cm.executor.plan.kernels) == 2  # outlier corrections and epilogues in the same kernels
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize="w3-spqr"), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


INT8_TARGETS = [{"kind": "llvm", "mcpu": "znver3"}, None]  # AVX2 vpmaddubsw + vpmaddwd; the host (VNNI where it has it)


@pytest.mark.parametrize("target", INT8_TARGETS)
def test_int8_activations_model_matches_the_interpreter(target):
    module = mlp()
    cm = kernforge.compile(module, quantize="w4g64-a8", target=target)
    assert "act_bits = 8" in cm.ir() and cm.ir().count("quant_dense(") == 1  # 96 inputs: no groups of 64
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize="w4g64-a8"), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("target", INT8_TARGETS)
def test_w8a8_with_calibration_matches_the_interpreter(target):
    module = mlp()
    calibration = [[RNG.standard_normal((2, 256)).astype(np.float32)] for _ in range(4)]
    cm = kernforge.compile(module, quantize="w8a8", calibration=calibration, target=target)
    assert cm.ir().count("int8_dense(") == 2 and "tensor<96x256xi8, #quant<bits=8" in cm.ir()
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize="w8a8", calibration=calibration), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    (ref,) = kernforge.compile(module).run([x]).values()
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 0.05  # 8-bit weights and activations
    with pytest.raises(KernforgeError, match="static activation scales need calibration"):
        kernforge.compile(module, quantize="w8a8")


def test_int8_kernels_use_vnni_where_the_target_has_it():
    asm = lambda mcpu: kernforge.compile(mlp(), quantize="w4g64-a8", target={"kind": "llvm", "mcpu": mcpu}
                                         )._lib.mod.inspect_source("asm")
    assert "vpdpbusd" in asm("znver4") and "vpdpbusd" not in asm("znver3")  # compiled only: no need to run them


def test_int8_kernels_refuse_a_target_without_avx2():
    with pytest.raises(KernforgeError, match="uses AVX2 integer instructions; target llvm\\(mcpu=x86-64\\) lacks"):
        kernforge.compile(mlp(), quantize="w4g64-a8", target={"kind": "llvm", "mcpu": "x86-64"})


def test_bad_scheme_is_a_clear_error():
    with pytest.raises(KernforgeError, match="unknown quantization scheme 'int4'"):
        kernforge.compile(mlp(), quantize="int4")
    with pytest.raises(KernforgeError, match="need 4-bit codes in groups of a multiple of 64"):
        kernforge.compile(mlp(), quantize="w8g64-a8")


def test_cli_compile_quantize(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(RNG.standard_normal((128, 16)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 128])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 16])], [w])
    src, art = tmp_path / "m.onnx", tmp_path / "q.kfa"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    cli = [sys.executable, "-m", "kernforge"]
    ok = subprocess.run([*cli, "compile", str(src), "-o", str(art), "--quantize", "w4g64"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "quant_dense" in kernforge.load(str(art)).ir()
    bad = subprocess.run([*cli, "compile", str(src), "-o", str(art), "--quantize", "w9"], capture_output=True, text=True)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "9 bits" in bad.stderr
    cal = tmp_path / "cal.npz"
    np.savez(cal, x=RNG.standard_normal((16, 1, 128)).astype(np.float32))
    gptq = subprocess.run([*cli, "compile", str(src), "-o", str(art), "--quantize", "w4g64-gptq", "--calibration", str(cal)],
                          capture_output=True, text=True)
    assert gptq.returncode == 0, gptq.stderr
    x = RNG.standard_normal((1, 128)).astype(np.float32)
    np.testing.assert_allclose(kernforge.load(str(art)).run([x])["y"],
                               kernforge.compile(str(src), quantize="w4g64-gptq",
                                                 calibration=[{"x": c} for c in np.load(cal)["x"]]).run([x])["y"],
                               rtol=1e-5, atol=1e-5)
    missing = subprocess.run([*cli, "compile", str(src), "-o", str(art), "--quantize", "w4g64-gptq"],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "calibration" in missing.stderr


def test_mixed_precision_keeps_its_budget_and_prints_its_table(capsys):
    module = mlp()
    cm = kernforge.compile(module, quantize="auto:5g32")
    table = capsys.readouterr().err
    assert "quantize auto:5g32" in table and "bits per weight" in table
    params = kernforge.api.prepare(module, quantize="auto:5g32").params
    bits = [p.type.encoding.bits for p in params.values() if p.type.encoding is not None]
    sizes = [p.type.shape[0] * 256 if "w1" in n else p.type.shape[0] * 96
             for n, p in params.items() if p.type.encoding is not None]
    assert sum(s * (b + 2) for s, b in zip(sizes, bits)) / sum(sizes) <= 5  # +2: scale and offset per 32
    x = RNG.standard_normal((2, 256)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize="auto:5g32"), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_gptq_with_calibration_compiles_matches_its_ir_and_beats_round_to_nearest():
    module = mlp(k=128, hidden=64, n=32)
    mix = np.eye(128) + RNG.standard_normal((128, 128)) * 0.15
    sample = lambda rows: (RNG.standard_normal((rows, 128)) @ mix).astype(np.float32)
    calibration = [[sample(2)] for _ in range(128)]
    cm = kernforge.compile(module, quantize="w3g32-gptq", calibration=calibration)
    x = sample(2)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, quantize="w3g32-gptq", calibration=calibration), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    rtn = kernforge.compile(module, quantize="w3g32")
    held_out = [sample(2) for _ in range(8)]
    err = lambda m: sum(np.linalg.norm(m.run([x])["out0"] - interpret(module, [x])["out0"]) for x in held_out)
    assert err(cm) < err(rtn)
    with pytest.raises(KernforgeError, match="GPTQ needs calibration inputs"):
        kernforge.compile(module, quantize="w3g32-gptq")
