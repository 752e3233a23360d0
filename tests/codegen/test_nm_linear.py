"""N:M sparse kernels compiled for llvm against the interpreter on the same IR: the select-tree row
form (few input rows), the panel column form (many rows, 1x1 convs), shapes the group or the tiles do
not divide, fused epilogues; and sparsity end to end through kernforge.compile and the CLI."""

import re
import subprocess
import sys

import numpy as np
import pytest

import kernforge
from kernforge.codegen.build import compile_kernels, plan_function
from kernforge.codegen.target import Target
from kernforge.errors import KernforgeError
from kernforge.ir import Builder, interpret
from kernforge.ir.sparsity import SparsityScheme, add_params, pack, prune

RNG = np.random.default_rng(21)


def nm_module(xshape, outputs: int, n: int, m: int, axis: int = -1, residual: bool = False):
    """nm_linear + bias, relu (and a residual add): one kernel with the epilogue fused."""
    s = SparsityScheme("nm", n, m)
    k = xshape[axis]
    w = prune(RNG.standard_normal((outputs, k)).astype(np.float32), s)
    b = Builder("nm")
    f = b.function()
    x = f.arg("x", list(xshape), "f32")
    bias = b.param("b", RNG.standard_normal(outputs).astype(np.float32))
    y = f.op("relu", f.op("nm_linear", x, *add_params(b.module, "w", pack(w, s)), bias, outputs=outputs, n=n, m=m,
                          axis=axis))
    if residual:
        y = f.op("add", y, f.arg("r", list(y.type.shape), "f32"))
    f.ret(y)
    return b.module


CASES = [  # x shape, outputs, n, m, axis
    ((1, 64), 32, 2, 4, -1),  # GEMV: row form
    ((3, 37), 13, 2, 4, -1),  # row form, 37 inputs: a partial last group; 13 rows: a partial lane block
    ((1, 30), 9, 3, 5, -1),  # M not a power of two
    ((16, 64), 40, 1, 4, -1),  # column form through the transposed panel
    ((2, 3, 40), 17, 4, 8, -1),  # two leading dims
    ((4, 64, 8, 8), 24, 2, 8, 1),  # 1x1 conv: column form over the pixels
    ((2, 48, 5, 5), 24, 2, 4, 1),  # 25 pixels: no vector panel divides them
]


@pytest.mark.parametrize("xshape, outputs, n, m, axis", CASES)
def test_compiled_nm_matches_the_interpreter(xshape, outputs, n, m, axis):
    module = nm_module(xshape, outputs, n, m, axis)
    cm = kernforge.compile(module)
    x = RNG.standard_normal(xshape).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(module, [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32 sums in another order
    assert len(cm.executor.plan.kernels) == 1


@pytest.mark.parametrize("vector_bits", [256, 512])
def test_nm_gemv_vectorizes_on_each_vector_width(vector_bits):
    """The row form's lanes are the format's 8 rows: on a 16-lane (AVX-512) target they once stayed
    LLVM's loops (gathers; 2:4 GEMV 0.40x dense on znver4)."""
    _, specs = plan_function(nm_module((1, 64), 32, 2, 4).main)
    target = Target("llvm", {"mcpu": "znver4" if vector_bits == 512 else "znver3"}, vector_bits=vector_bits, cores=2)
    asm = compile_kernels(specs, target).mod.inspect_source("asm")
    assert re.search(r"vfmadd\w+ps", asm) and "gather" not in asm


def test_residual_epilogue_fuses_into_the_sparse_kernel():
    module = nm_module((32, 64), 24, 2, 4, residual=True)
    cm = kernforge.compile(module)
    x, r = RNG.standard_normal((32, 64)).astype(np.float32), RNG.standard_normal((32, 24)).astype(np.float32)
    (got,) = cm.run([x, r]).values()
    (want,) = interpret(module, [x, r]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert len(cm.executor.plan.kernels) == 1 and "nm_linear" in cm.ir()


def mlp_and_conv():
    b = Builder("net")
    f = b.function()
    x = f.arg("x", [1, 16, 6, 6], "f32")
    c = b.param("c", RNG.standard_normal((32, 16, 1, 1)).astype(np.float32))
    h = f.op("relu", f.op("conv2d", x, c))
    flat = f.op("reshape", h, shape=[1, 32 * 36])
    w = b.param("w", RNG.standard_normal((32 * 36, 10)).astype(np.float32) * 0.05)
    f.ret(f.op("matmul", flat, w))
    return b.module


# 2:4 over the conv's 36 pixels stays dense: the cost rule (its GEMM form is no faster than dense)
@pytest.mark.parametrize("scheme, sparse", [("2:4", 1), ("1:4", 2), ("bsr:4x1:0.7", 2), ("unstructured:0.9", 2)])
def test_compile_with_pruning_matches_the_interpreter_on_the_pruned_ir(scheme, sparse):
    module = mlp_and_conv()
    cm = kernforge.compile(module, sparsity=scheme, prune=True)
    op = {"nm": "nm_linear", "bsr": "bsr_linear", "csr": "csr_linear"}[SparsityScheme.parse(scheme).kind]
    assert cm.ir().count(f"{op}(") == sparse and cm.ir().count("_linear(") == sparse
    x = RNG.standard_normal((1, 16, 6, 6)).astype(np.float32)
    (got,) = cm.run([x]).values()
    (want,) = interpret(kernforge.api.prepare(module, sparsity=scheme, prune=True), [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_detection_leaves_dense_weights_alone_and_bad_options_fail_clearly():
    module = mlp_and_conv()
    assert "nm_linear" not in kernforge.api.prepare(module, sparsity="2:4").__str__()
    with pytest.raises(KernforgeError, match="prune=True needs a sparsity scheme"):
        kernforge.compile(module, prune=True)
    with pytest.raises(KernforgeError, match="unknown sparsity scheme '2/4'"):
        kernforge.compile(module, sparsity="2/4")
    with pytest.raises(KernforgeError, match="composes with N:M sparsity only"):
        kernforge.compile(module, sparsity="unstructured:0.9", quantize="w4")
    with pytest.raises(KernforgeError, match="round-to-nearest schemes only"):
        kernforge.compile(module, sparsity="2:4", prune=True, quantize="auto:4")


@pytest.mark.parametrize("batch, nm, quantize", [(1, "2:4", "w4g64"), (1, "2:4", "w8"), (16, "1:4", "w4g32-sym"),
                                                 (1, "2:8", "w2g64")])
def test_sparse_and_quantized_weights_in_one_kernel(batch, nm, quantize):
    b = Builder("q")
    f = b.function()
    x = f.arg("x", [batch, 256], "f32")
    w = b.param("w", RNG.standard_normal((256, 40)).astype(np.float32) * 0.05)
    f.ret(f.op("relu", f.op("matmul", x, w)))
    # an AVX2 target: with AVX512-BF16 the cost rule keeps GEMV layers dense (tests/passes/test_target_traits.py)
    cm = kernforge.compile(b.module, sparsity=nm, prune=True, quantize=quantize, target={"kind": "llvm", "mcpu": "znver3"})
    assert f"#nm<{nm}, bits={quantize[1]}" in cm.ir() and "nm_quant_linear(" in cm.ir()
    assert len(cm.executor.plan.kernels) == 1
    xv = RNG.standard_normal((batch, 256)).astype(np.float32)
    (got,) = cm.run([xv]).values()
    (want,) = interpret(kernforge.api.prepare(b.module, sparsity=nm, prune=True, quantize=quantize), [xv]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_cli_compile_sparsity(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(RNG.standard_normal((128, 16)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 128])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 16])], [w])
    src, out = tmp_path / "m.onnx", tmp_path / "s.kfa"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    cli = [sys.executable, "-m", "kernforge", "compile", str(src), "-o", str(out)]
    run = subprocess.run([*cli, "--sparsity", "2:4", "--prune"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "nm_linear (density 0.50)" in run.stderr and "nm_linear(" in kernforge.load(str(out)).ir()
    bad = subprocess.run([*cli, "--sparsity", "x"], capture_output=True, text=True)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "unknown sparsity" in bad.stderr
