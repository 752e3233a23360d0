"""fuse-ops keeps semantics: interpreter before == after, and compiled fused kernels match the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import kernforge
from kernforge.ir import interpret
from kernforge.ir.builder import Builder
from kernforge.ir.verifier import verify
from kernforge.passes import run_pipeline


def conv_block():
    """conv + bias + relu, conv + bias + residual add + relu: a small residual block."""
    rng = np.random.default_rng(0)
    b = Builder("block")
    f = b.function("main")
    x = f.arg("x", [1, 8, 10, 10])
    w1 = f.param("w1", rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.2)
    b1 = f.param("b1", rng.standard_normal((1, 8, 1, 1)).astype(np.float32))
    w2 = f.param("w2", rng.standard_normal((8, 8, 3, 3)).astype(np.float32) * 0.2)
    b2 = f.param("b2", rng.standard_normal((1, 8, 1, 1)).astype(np.float32))
    h = f.relu(f.add(f.conv2d(x, w1, pads=[1, 1, 1, 1]), b1))
    y = f.relu(f.add(f.add(f.conv2d(h, w2, pads=[1, 1, 1, 1]), b2), x))
    f.ret(y)
    return b.module


def mlp():
    """dense + add + gelu, then dense + add."""
    rng = np.random.default_rng(1)
    b = Builder("mlp")
    f = b.function("main")
    x = f.arg("x", [4, 16])
    w1 = f.param("w1", rng.standard_normal((32, 16)).astype(np.float32) * 0.3)
    c1 = f.param("c1", rng.standard_normal((32,)).astype(np.float32))
    w2 = f.param("w2", rng.standard_normal((8, 32)).astype(np.float32) * 0.3)
    c2 = f.param("c2", rng.standard_normal((8,)).astype(np.float32))
    h = f.gelu(f.add(f.dense(x, w1), c1))
    f.ret(f.add(f.dense(h, w2), c2))
    return b.module


MODELS = {"conv_block": (conv_block, (1, 8, 10, 10)), "mlp": (mlp, (4, 16))}


def fused_kinds(module):
    return [n.attrs["kind"] for n in module.main.nodes if n.op == "fused"]


@pytest.mark.parametrize("name", MODELS)
def test_interpreter_unchanged(name):
    build, shape = MODELS[name]
    module = build()
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    fused = run_pipeline(module, "fuse-ops")
    verify(fused)
    assert all(n.op == "fused" for n in fused.main.nodes)
    np.testing.assert_array_equal(interpret(fused, [x])[fused.main.output_names[0]],
                                  interpret(module, [x])[module.main.output_names[0]])


def test_kinds():
    assert fused_kinds(run_pipeline(conv_block(), "fuse-ops")) == ["conv2d+add+relu", "conv2d+add+add+relu"]
    assert fused_kinds(run_pipeline(mlp(), "fuse-ops")) == ["dense+add+gelu", "dense+add"]


def test_fuse_ops_runs_last_but_block_fuse_which_merges_its_kernels():
    from kernforge.passes import parse_pipeline

    assert parse_pipeline("-O2")[-1] == "fuse-ops"
    assert parse_pipeline("-O3")[-2:] == ["fuse-ops", "block-fuse"]


@pytest.mark.parametrize("name", MODELS)
def test_compiled_matches_interpreter(name):
    build, shape = MODELS[name]
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    ref = list(interpret(build(), [x]).values())[0]
    cm = kernforge.compile(build(), opt_level=2)
    assert "fused(" in cm.ir()
    out = cm(x)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
