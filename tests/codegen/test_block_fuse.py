"""A block-fused MobileNetV2 inverted-residual block (passes/block_fuse.py) compiles to one kernel that
agrees with the interpreter, and its schedule computes the expand conv inside the output's row bands."""

import re

import numpy as np
import pytest

import kernforge
from kernforge.codegen.build import plan_function
from kernforge.codegen.kernel import build_primfunc
from kernforge.codegen.schedules import apply_schedule
from kernforge.codegen.target import Target
from kernforge.ir import Builder, interpret
from kernforge.passes import run_pipeline
from kernforge.passes.block_fuse import block_fuse

from ..ir.ops.harness import rand

TARGET = Target("llvm", {}, vector_bits=256, cores=2)


def block_module(c=8, e=48, h=14, w=14, residual=True, bias=True, batch=1):
    """expand 1x1 + clip -> depthwise 3x3 + clip -> project 1x1 [+ x], fused into one block node."""
    b = Builder("blk")
    f = b.function()
    x = f.arg("x", [batch, c, h, w])
    biases = lambda name, n: [f.param(name, rand(n, seed=len(name)))] if bias else []
    y = f.op("clip", f.op("conv2d", x, f.param("w1", rand(e, c, 1, 1, seed=1)), *biases("b1", e)), min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w2", rand(e, 1, 3, 3, seed=2)), *biases("b22", e), pads=[1, 1, 1, 1], group=e)
    y = f.op("conv2d", f.op("clip", y, min=0.0, max=6.0), f.param("w3", rand(c, e, 1, 1, seed=3)),
             *biases("b333", c))
    f.ret(f.op("add", y, x) if residual else y)
    return block_fuse(run_pipeline(b.module, "fuse-ops"), min_bytes=0)  # small maps: force the merge


CASES = {
    "14x14-residual": dict(),
    "14x14-plain": dict(residual=False),
    "13x11-residual": dict(h=13, w=11),
    "13x11-no-bias": dict(h=13, w=11, residual=False, bias=False),
    "14x14-batch2": dict(batch=2),
    "16x16-unpacked": dict(h=16, w=16, residual=False, bias=False),  # 1x1 convs as GEMMs, no prepack
}


@pytest.mark.parametrize("name", list(CASES))
def test_block_matches_interpreter(name):
    mod = block_module(**CASES[name])
    assert [n.attrs["kind"] for n in mod.main.nodes] == ["block"]
    cm = kernforge.compile(mod, opt_level=0)
    inputs = cm.random_inputs()
    ref = interpret(mod, inputs)
    for out, ours in cm.run(inputs).items():
        np.testing.assert_allclose(ours, ref[out], rtol=1e-4, atol=1e-5, err_msg=out)


def test_expand_conv_computed_per_row_band():
    """The expand conv, the depthwise conv and the project conv all sit in the output's parallel
    row-band loop (the residual add rides on the project's write-back), vectorized."""
    plan, specs = plan_function(block_module().main)
    (spec,) = specs.values()
    script = apply_schedule(build_primfunc(spec, "k"), spec.rule, TARGET).script()
    band = re.search(r"^( *)for (\w+) in T\.parallel\(", script, re.M)
    assert band, script
    body = script[band.end():]
    end = re.search(rf"^{band.group(1)}\S", body, re.M)  # the next statement at the band's depth
    body = body[:end.start()] if end else body
    for block in ("conv_channels_update", "depthwise_update", "conv_channels_1_update"):
        assert f'T.sblock("{block}")' in body, block
    assert "T.vectorized" in body
