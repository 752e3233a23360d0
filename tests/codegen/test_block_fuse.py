"""A block-fused MobileNetV2 inverted-residual block (passes/block_fuse.py) compiles to one kernel that
agrees with the interpreter: the line-buffer kernel (codegen/lower/line_block.py) where it applies,
else the band schedule that computes the expand conv inside the output's row bands."""

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


def block_module(c=8, e=48, h=14, w=14, residual=True, bias=True, batch=1, k=3, act="clip"):
    """expand 1x1 + act -> depthwise k x k + clip -> project 1x1 [+ x], fused into one block node."""
    b = Builder("blk")
    f = b.function()
    x = f.arg("x", [batch, c, h, w])
    biases = lambda name, n: [f.param(name, rand(n, seed=len(name)))] if bias else []
    y = f.op("conv2d", x, f.param("w1", rand(e, c, 1, 1, seed=1)), *biases("b1", e))
    if act == "scale":  # a broadcast epilogue: not the line kernel's
        y = f.op("mul", y, f.param("scale", rand(1, e, 1, 1, seed=4)))
    y = f.op("clip", y, min=0.0, max=6.0) if act in ("clip", "scale") else f.op(act, y)
    y = f.op("conv2d", y, f.param("w2", rand(e, 1, k, k, seed=2)), *biases("b22", e), pads=[k // 2] * 4, group=e)
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
    "9x7-hardswish": dict(h=9, w=7, act="hardswish"),  # rows narrower than one vector
    "14x14-6-36": dict(c=6, e=36),  # channels not whole vectors: the form along the width
    "13x11-6-36-plain": dict(c=6, e=36, h=13, w=11, residual=False),
    "14x14-5x5": dict(k=5),
    "14x14-scaled": dict(act="scale"),  # not the line kernel's: the band schedule
    "13x11-scaled-plain": dict(h=13, w=11, act="scale", residual=False),
}


@pytest.mark.parametrize("cores", [2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_block_matches_interpreter(name, cores):
    """Three cores split 13 or 14 rows into uneven tasks, whose seams recompute one expanded row."""
    mod = block_module(**CASES[name])
    assert [n.attrs["kind"] for n in mod.main.nodes] == ["block"]
    (spec,) = plan_function(mod.main)[1].values()
    assert spec.rule == ("block" if "scaled" in name else "line_block")  # a broadcast epilogue: row bands
    cm = kernforge.compile(mod, opt_level=0, target={"kind": "llvm", "num-cores": cores})
    inputs = cm.random_inputs()
    ref = interpret(mod, inputs)
    for out, ours in cm.run(inputs).items():
        np.testing.assert_allclose(ours, ref[out], rtol=1e-4, atol=1e-5, err_msg=out)


@pytest.mark.parametrize("k, c, e", [(3, 8, 48), (5, 8, 48), (3, 6, 36)])
def test_line_kernel_keeps_a_ring_of_expanded_rows_per_task(k, c, e):
    """One parallel task per core; each holds k expanded rows (padded by k // 2 zero columns at both
    ends) and one depthwise row, and its loop steps through its rows plus the 2 (k // 2) halo rows.
    Channels that fill whole vectors go innermost (rows of pixels), others along the width."""
    (spec,) = plan_function(block_module(c=c, e=e, h=14, w=14, k=k).main)[1].values()
    script = apply_schedule(build_primfunc(spec, "k", TARGET), spec.rule, TARGET).script()
    assert re.search(r"for \w+ in T\.parallel\(2\)", script), script
    ring, row = ((k, 14 + k - 1, e), (14, e)) if e % 8 == 0 else ((k, e, 14 + k - 1), (e, 14))
    assert f"T.alloc_buffer({ring}" in script and f"T.alloc_buffer({row}" in script, script
    assert f"in range({7 + k - 1}):" in script, script  # 7 rows per task + the halo steps
    assert "T.Ramp" in script and "sblock(\"depthwise" not in script


def test_expand_conv_computed_per_row_band():
    """Outside the line kernel (a broadcast epilogue): the expand conv, the depthwise conv and the
    project conv all sit in the output's parallel row-band loop (the residual add rides on the
    project's write-back), vectorized."""
    plan, specs = plan_function(block_module(act="scale").main)
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


def network_module(c=8, e=48, h=14, w=14, residual=True, k=3):
    """A block between two convs: at -O3 its input and output are NCHW8c, as inside MobileNetV2."""
    b = Builder("net")
    f = b.function()
    x = f.op("relu", f.op("conv2d", f.arg("x", [1, 3, h, w]), f.param("w0", rand(c, 3, 1, 1, seed=9))))
    y = f.op("clip", f.op("conv2d", x, f.param("w1", rand(e, c, 1, 1, seed=1)), f.param("b1", rand(e, seed=5))),
             min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w2", rand(e, 1, k, k, seed=2)), f.param("b2", rand(e, seed=6)),
             pads=[k // 2] * 4, group=e)
    y = f.op("conv2d", f.op("clip", y, min=0.0, max=6.0), f.param("w3", rand(c, e, 1, 1, seed=3)),
             f.param("b3", rand(c, seed=7)))
    f.ret(f.op("conv2d", f.op("add", y, x) if residual else y, f.param("w4", rand(8, c, 1, 1, seed=11))))
    return b.module


@pytest.mark.parametrize("cores", [2, 3])
@pytest.mark.parametrize("kw", [dict(), dict(h=13, w=11), dict(c=16, e=96, h=9, w=7, residual=False), dict(k=5)],
                         ids=["14x14", "13x11", "9x7-plain", "14x14-5x5"])
def test_blocked_line_kernel_matches_interpreter(kw, cores):
    """Channel-vector form: the ring holds rows of pixels, channels innermost; weights transposed."""
    mod = network_module(**kw)
    fused = block_fuse(run_pipeline(network_module(**kw), "O3"), min_bytes=0)
    kinds = [(n.attrs.get("kind", n.op), n.results[0].type.layout) for n in fused.main.nodes]
    assert kinds[1] == ("block", "NCHW8c"), kinds
    cm = kernforge.compile(fused, opt_level=0, target={"kind": "llvm", "num-cores": cores})
    x = cm.random_inputs()
    ref = interpret(mod, x)
    for out, ours in cm.run(x).items():
        np.testing.assert_allclose(ours, ref[out], rtol=1e-4, atol=1e-4 * np.abs(ref[out]).max(), err_msg=out)


def test_blocked_line_kernel_reads_transposed_weights_and_a_pixel_ring():
    fused = block_fuse(run_pipeline(network_module(), "O3"), min_bytes=0)
    plan, specs = plan_function(fused.main)
    (spec,) = [s for s in specs.values() if s.rule == "line_block"]
    step = next(s for s in plan.steps if plan.kernels[s.kernel]["rule"] == "line_block")
    assert sum(slot.endswith("@line_t") for slot in step.inputs) == 3, step.inputs  # expand, depthwise, project
    script = apply_schedule(build_primfunc(spec, "k", TARGET), spec.rule, TARGET).script()
    assert re.search(r"T\.alloc_buffer\(\(3, 16, 48\)", script), script  # 3 rows x (1 + 14 + 1) pixels x 48
