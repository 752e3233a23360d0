"""The GEMM, convolution, pool and attention rules really tile, parallelize and vectorize (checked on
the scheduled TIR), and stay exact on shapes no tile divides, with and without prepacked weights and
fused epilogues (checked against the interpreter)."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernforge
from kernforge.codegen.build import compile_kernels, plan_function
from kernforge.codegen.kernel import build_primfunc
from kernforge.codegen.schedules import apply_schedule
from kernforge.codegen.schedules.cpu_conv import WIDE_ACC_BUDGET, _channel_tile
from kernforge.codegen.schedules.tiling import ACC_BUDGET
from kernforge.codegen.target import Target
from kernforge.ir import Builder, interpret
from kernforge.ir.builder import region
from kernforge.passes import run_pipeline

from ..ir.ops.harness import rand

# A fixed target, so that the checks do not depend on the host's core count or vector width.
TARGET = Target("llvm", {}, vector_bits=256, cores=2)


def module(op, inputs: dict, params: dict | None = None, **attrs):
    """One op on named runtime inputs (shapes) and weights (arrays), in that operand order."""
    b = Builder("m")
    f = b.function()
    operands = [f.arg(n, list(s)) for n, s in inputs.items()]
    operands += [f.param(n, data) for n, data in (params or {}).items()]
    f.ret(f.op(op, *operands, **attrs))
    return b.module


def scheduled_script(mod) -> str:
    plan, specs = plan_function(mod.main)
    (spec,) = specs.values()
    return apply_schedule(build_primfunc(spec, "k"), spec.rule, TARGET).script()


def check(mod, rtol=1e-4, atol=1e-5):
    """Compiled kernels agree with the interpreter on random inputs."""
    cm = kernforge.compile(mod, opt_level=0)
    inputs = cm.random_inputs()
    ref = interpret(mod, inputs)
    for name, ours in cm.run(inputs).items():
        np.testing.assert_allclose(ours, ref[name], rtol=rtol, atol=atol, err_msg=name)


W512 = rand(512, 512, seed=1)
STRUCTURE = {
    "matmul-512": module("matmul", {"a": (512, 512)}, {"b": W512}),
    "conv-3x3": module("conv2d", {"x": (1, 32, 28, 28)}, {"w": rand(64, 32, 3, 3)}, pads=[1, 1, 1, 1]),
    "conv-1x1": module("conv2d", {"x": (1, 64, 28, 28)}, {"w": rand(32, 64, 1, 1)}),
    "conv-depthwise": module("conv2d", {"x": (1, 32, 28, 28)}, {"w": rand(32, 1, 3, 3)}, pads=[1, 1, 1, 1],
                             group=32),
    "conv-1x1-7x7": module("conv2d", {"x": (1, 64, 7, 7)}, {"w": rand(32, 64, 1, 1)}),
}


@pytest.mark.parametrize("name", list(STRUCTURE))
def test_anchor_is_tiled_parallel_and_vectorized(name):
    text = scheduled_script(STRUCTURE[name])
    assert "T.parallel(" in text and "T.vectorized(" in text, text
    assert 'scope="local"' in text and "T.unroll(" in text, text  # register tile: accumulators, unrolled rows


def test_gemm_reads_prepacked_panels():
    text = scheduled_script(STRUCTURE["matmul-512"])
    assert "(32, 512, 16)" in text, text  # [N/16, K, 16] panels, made at compile time
    assert "unpack_panel" not in text  # the panel view is inlined into the GEMM


@pytest.mark.parametrize("rows", [512, 1])
def test_gemm_tile_on_avx512_stays_within_one_packed_panel(rows):
    """16-lane vectors: a tile of two vectors spanned two 16-column panels of packed B, whose columns
    then loaded one float at a time (GEMM 1024^3 at 48 GFLOP/s instead of 223 on znver4)."""
    _, specs = plan_function(module("matmul", {"a": (rows, 512)}, {"b": W512}).main)
    avx512 = Target("llvm", {"mcpu": "znver4"}, vector_bits=512, cores=2)
    asm = compile_kernels(specs, avx512).mod.inspect_source("asm")
    assert re.search(r"vfmadd\w+ps\s.*%zmm", asm) and not re.search(r"vinsertps\s+\$\d+, \(", asm)


@pytest.mark.parametrize("name, packed", [("conv-3x3", "(8, 32, 3, 3, 8)"), ("conv-1x1-7x7", "(4, 64, 1, 1, 8)")])
def test_conv_vectorizes_along_prepacked_output_channels(name, packed):
    text = scheduled_script(STRUCTURE[name])
    assert packed in text and "unpack_channel_block" not in text, text  # [O/8, C, kh, kw, 8], made at compile time
    assert re.search(r"for \w+ in T.vectorized\(8\):\s+with T.sblock\(\"conv_channels_update", text), text


def test_pointwise_conv_on_whole_vectors_of_positions_keeps_the_gemm_layout():
    text = scheduled_script(STRUCTURE["conv-1x1"])  # 28 x 28 positions: vectors along them, no pack
    assert "conv_channels" not in text and "(4, 64, 1, 1, 8)" not in text, text


def test_gemm_on_columns_no_panel_divides_runs_over_the_padded_panels():
    """N = 50 (a vocabulary of odd size): the tile covers the pack's 64 zero-padded columns, no predicate."""
    mod = module("matmul", {"a": (64, 96)}, {"b": rand(96, 50, seed=1)})
    text = scheduled_script(mod)
    update = text.split('T.sblock("matmul_update")')[1].split("T.sblock(")[0]
    assert "T.where" not in update and "matmul_cut" in text, text  # only the write-back drops columns
    check(mod)


def test_conv_on_a_prime_width_computes_wider_then_cuts():
    text = scheduled_script(CORRECTNESS["conv-channels-prime-width"])  # 13 columns run as 14
    assert "conv_cut" in text and re.search(r"conv_channels_local\[\w+, \w+, \w+, \w+\]", text), text
    assert "T.Buffer((1, 16, 13, 14)" in text or "(1, 16, 13, 14)" in text, text


def test_conv_on_three_times_a_prime_width_tiles_three_columns_with_no_cut():
    """39 = 3 x 13 columns (SqueezeNet's stem: 111 = 3 x 37) run at their own width in tiles of 3."""
    text = scheduled_script(CORRECTNESS["conv-channels-width-3x13"])
    assert "conv_cut" not in text and "(1, 16, 4, 39)" in text, text


def test_grouped_conv_pads_each_group_to_whole_channel_blocks():
    """20 output channels per group run as 24 (3 vectors); the padded ones are cut before the bias."""
    cm = kernforge.compile(CORRECTNESS["conv-channels-grouped-padded"], opt_level=0)
    assert cm.executor.param_arrays["w@oc8g2x20"].shape == (6, 4, 1, 1, 8)
    text = scheduled_script(CORRECTNESS["conv-channels-grouped-padded"])
    assert "conv_channels_grouped" in text and "(1, 48, 7, 7)" in text, text  # 2 x 24 computed, 40 kept


@pytest.mark.parametrize("name", ["conv-grouped-pointwise-17", "conv-grouped-pointwise-68"])
def test_grouped_pointwise_conv_tiles_positions_within_one_group(name):
    """A grouped 1x1 conv whose positions fill whole vectors runs as one GEMM per group: no packed
    weight, no padded channels to cut, and a register tile of one group's channels only."""
    cm = kernforge.compile(CORRECTNESS[name], opt_level=0)
    assert all("@" not in key for key in cm.executor.param_arrays), list(cm.executor.param_arrays)
    text = scheduled_script(CORRECTNESS[name])
    channel = re.search(r'sblock\("conv_update"\).*?v1 = T\.axis\.spatial\(\d+, (?:[^\n]*\* (\d+) \+ )?\w+\)', text, re.S)
    assert channel and "T.vectorized(8)" in text, text
    assert (17 if name.endswith("17") else 68) % int(channel.group(1) or 1) == 0, text
    assert "conv_cut" not in text and "conv_channels" not in text, text


def test_narrow_nchw_depthwise_vectorizes_along_channel_blocks():
    """A depthwise conv on a narrow NCHW map (whole blocks of channels) reads a per-block padded copy."""
    text = scheduled_script(CORRECTNESS["conv-depthwise-nchw-channels"])
    assert "depthwise_channels" in text and "(1, 2, 11, 13, 8)" in text, text
    wide = scheduled_script(module("conv2d", {"x": (1, 16, 64, 64)}, {"w": rand(16, 1, 3, 3)},
                                   pads=[1, 1, 1, 1], group=16))
    assert "depthwise_channels" not in wide, wide


def test_avg_pool_divides_each_plane_inside_its_parallel_loop():
    """The division by the window counts runs on each plane right after its sums (in cache), not as a
    second pass over the whole output (0.19 -> 0.07 ms at 192 x 28 x 28)."""
    mod = module("avg_pool", {"x": (1, 64, 28, 28)}, kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    text = scheduled_script(mod)
    assert text.count("T.parallel(") == 1 and 'T.sblock("avg_pool")' in text, text
    check(mod)


def test_a_blocked_pool_reads_its_taps_in_place_a_vector_of_channels_at_a_time():
    """A pool of channel blocks: one parallel loop over the planes, no padded copy (0.16 -> 0.03 ms for
    ResNet's 3x3/2 pad-1 max pool over 64 x 111 x 111), the taps unrolled over 8-channel vectors."""
    b = Builder("m")
    f = b.function()
    x = f.op("conv2d", f.arg("x", [1, 16, 15, 15]), f.param("w", rand(16, 16, 1, 1)))
    pool = f.op("max_pool", x, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    f.ret(f.op("conv2d", pool, f.param("w2", rand(8, 16, 1, 1))))
    _, specs = plan_function(run_pipeline(b.module, "layout").main)
    (spec,) = [s for s in specs.values() if s.anchor == "max_pool"]
    text = apply_schedule(build_primfunc(spec, "k"), spec.rule, TARGET).script()
    assert text.count("T.parallel(") == 1 and "T.vectorized(8)" in text and "T.unroll(3)" in text, text
    assert 'T.sblock("pad' not in text, text


def test_pads_are_split_from_copies():
    text = scheduled_script(STRUCTURE["conv-3x3"])
    assert "pad_pad_const" in text and "if_then_else" not in text, text


CORRECTNESS = {
    "matmul-odd": module("matmul", {"a": (7, 33), "b": (33, 13)}),
    "matmul-odd-packed": module("matmul", {"a": (7, 33)}, {"b": rand(33, 13, seed=1)}),
    "gemv-odd-packed": module("matmul", {"a": (1, 37)}, {"b": rand(37, 29, seed=1)}),
    "dense-odd-bias": module("dense", {"x": (2, 5, 33)}, {"w": rand(13, 33, seed=1), "b": rand(13, seed=2)}),
    "gemm-trans-odd": module("gemm", {"a": (33, 7)}, {"b": rand(13, 33, seed=1), "c": rand(13, seed=2)},
                             trans_a=True, trans_b=True, alpha=0.5),
    "bmm-odd": module("matmul", {"a": (3, 7, 9), "b": (3, 9, 11)}),
    "conv-3x3-odd": module("conv2d", {"x": (2, 3, 13, 11)}, {"w": rand(5, 3, 3, 3), "b": rand(5, seed=2)},
                           pads=[1, 1, 1, 1]),
    "conv-stride2-odd": module("conv2d", {"x": (1, 3, 15, 13)}, {"w": rand(6, 3, 5, 5)}, strides=[2, 2],
                               pads=[2, 1, 2, 1]),
    "conv-1x1-odd": module("conv2d", {"x": (1, 7, 9, 13)}, {"w": rand(5, 7, 1, 1)}),
    "conv-depthwise-odd": module("conv2d", {"x": (1, 6, 13, 11)}, {"w": rand(6, 1, 3, 3)}, pads=[1, 1, 1, 1],
                                 group=6, strides=[1, 2]),
    "conv1d-odd": module("conv1d", {"x": (2, 3, 17)}, {"w": rand(4, 3, 3)}, strides=[2], pads=[1, 1]),
    "conv-transpose-odd": module("conv_transpose2d", {"x": (1, 3, 7, 5)}, {"w": rand(3, 4, 3, 3)}, strides=[2, 2]),
    "max-pool-odd": module("max_pool", {"x": (1, 3, 13, 11)}, kernel_shape=[3, 3], strides=[2, 2],
                           pads=[1, 1, 1, 1]),
    "avg-pool-odd": module("avg_pool", {"x": (1, 3, 13, 11)}, kernel_shape=[3, 2], strides=[2, 1], ceil_mode=True),
    "attention-odd": module("scaled_dot_product_attention", {"q": (2, 7, 5), "k": (2, 9, 5), "v": (2, 9, 3)}),
    "attention-one-head": module("scaled_dot_product_attention", {"q": (1, 13, 64), "k": (1, 17, 64),
                                                                  "v": (1, 17, 64)}, is_causal=True),
    "attention-2d": module("scaled_dot_product_attention", {"q": (13, 16), "k": (17, 16), "v": (17, 24)}),
    "dense-prime-rows": module("dense", {"x": (197, 33)}, {"w": rand(29, 33, seed=1), "b": rand(29, seed=2)}),
    "conv1d-one-band": module("conv1d", {"x": (1, 4, 37)}, {"w": rand(6, 4, 3)}, pads=[1, 1]),
    "conv3d-odd": module("conv3d", {"x": (1, 2, 5, 7, 9)}, {"w": rand(4, 2, 3, 3, 3)}, pads=[1] * 6),
    "conv-depthwise-nchw-channels": module("conv2d", {"x": (1, 16, 9, 11)}, {"w": rand(16, 1, 3, 3)},
                                           pads=[1, 1, 1, 1], group=16, strides=[2, 2]),
    "conv-grouped-pointwise-17": module("conv2d", {"x": (1, 68, 8, 8)}, {"w": rand(68, 17, 1, 1)}, group=4),
    "conv-grouped-pointwise-68": module("conv2d", {"x": (1, 68, 8, 8)}, {"w": rand(272, 17, 1, 1),
                                                                       "b": rand(272, seed=2)}, group=4),
    "conv-grouped": module("conv2d", {"x": (1, 4, 7, 9)}, {"w": rand(6, 2, 3, 3)}, pads=[1] * 4, group=2),
    "conv-channels-stride2": module("conv2d", {"x": (1, 5, 15, 13)}, {"w": rand(16, 5, 3, 3), "b": rand(16, seed=2)},
                                    strides=[2, 2], pads=[1, 0, 1, 2]),
    "conv-channels-7x7s2": module("conv2d", {"x": (2, 3, 23, 21)}, {"w": rand(16, 3, 7, 7)}, strides=[2, 2],
                                  pads=[3] * 4),
    "conv-channels-1x1-odd": module("conv2d", {"x": (1, 7, 7, 7)}, {"w": rand(24, 7, 1, 1)}),
    "conv-channels-prime-width": module("conv2d", {"x": (1, 8, 13, 13)}, {"w": rand(16, 8, 1, 1),
                                                                          "b": rand(16, seed=2)}),
    "conv-channels-width-3x13": module("conv2d", {"x": (1, 3, 9, 79)}, {"w": rand(16, 3, 3, 3), "b": rand(16, seed=2)},
                                       strides=[2, 2]),
    "conv-channels-prime-width-3x3": module("conv2d", {"x": (1, 3, 11, 17)}, {"w": rand(8, 3, 3, 3)},
                                            strides=[1, 2], pads=[1] * 4),
    "conv-channels-grouped": module("conv2d", {"x": (1, 12, 9, 10)}, {"w": rand(48, 4, 3, 3), "b": rand(48, seed=2)},
                                    group=3, strides=[2, 1], pads=[1] * 4),
    "conv-channels-grouped-padded": module("conv2d", {"x": (1, 8, 7, 7)}, {"w": rand(40, 4, 1, 1),
                                                                           "b": rand(40, seed=2)}, group=2),
    "conv-channels-dilated": module("conv2d", {"x": (1, 4, 11, 12)}, {"w": rand(8, 4, 3, 3)}, dilations=[2, 2],
                                    pads=[2] * 4),
}


@pytest.mark.parametrize("name", list(CORRECTNESS))
def test_scheduled_kernels_match_the_interpreter_on_odd_shapes(name):
    check(CORRECTNESS[name])


def fused_conv_module(out_channels: int = 6):
    """conv + bias + relu + residual add in one fused kernel, as the fusion pass would make it."""
    b = Builder("m")
    f = b.function()
    x, skip = f.arg("x", [1, 4, 9, 7]), f.arg("skip", [1, out_channels, 9, 7])
    w, bias = f.param("w", rand(out_channels, 4, 3, 3)), f.param("bias", rand(out_channels, seed=2))
    r = region("body", b.module)
    rx, rs, rw, rb = (r.arg(n, list(v.type.shape)) for n, v in (("x", x), ("s", skip), ("w", w), ("b", bias)))
    y = r.op("conv2d", rx, rw, rb, pads=[1, 1, 1, 1])
    r.ret(r.op("add", r.op("relu", y), rs))
    f.ret(f.op("fused", x, skip, w, bias, region=r.func, kind="out_fusable"))
    return b.module


@pytest.mark.parametrize("out_channels, acc", [(6, "conv"), (16, "conv_channels")])
def test_fused_epilogue_runs_in_the_tile_loop(out_channels, acc):
    mod = fused_conv_module(out_channels)
    text = scheduled_script(mod)
    # The tile's write-back computes the kernel's output (bias, relu, residual) from the accumulators.
    written = re.findall(rf"(\w+)\[[^\]]*\] = [^\n]*{acc}_local\[", text)
    assert acc not in written and any(w != f"{acc}_local" for w in written), text
    check(mod)


def test_prepacked_weight_is_a_new_param_slot():
    cm = kernforge.compile(CORRECTNESS["matmul-odd-packed"], opt_level=0)
    slots = [s for step in cm.executor.plan.steps for s in step.inputs]
    assert "param:b@panel16" in slots
    assert cm.executor.param_arrays["b@panel16"].shape == (1, 33, 16)


def test_avg_pool_over_the_whole_plane_compiles_and_matches():
    """A 7x7 window on a 7x7 plane leaves 1-wide loops that compute_at drops (ResNet-50's head)."""
    import kernforge
    from kernforge.ir import Builder, interpret

    b = Builder()
    f = b.function()
    f.ret(f.avg_pool(f.arg("x", [1, 64, 7, 7]), kernel_shape=[7, 7]))
    x = np.random.default_rng(0).standard_normal((1, 64, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(kernforge.compile(b.module)(x), interpret(b.module, [x])["out0"], rtol=1e-5, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 130), st.integers(1, 60), st.integers(1, 60), st.sampled_from([12, 16]))
def test_channel_conv_tile_keeps_one_register_per_block_and_position_within_budget(blocks, rows, cols, budget):
    """Each 8-channel block is its own register even where a vector holds 16 floats: counting two
    blocks as one register spilled (a 56x56 1x1 conv 2x slower on znver4)."""
    ov, fr, fw = _channel_tile(blocks, rows, cols, budget)
    assert ov * fr * fw <= budget and blocks % ov == 0 and rows % fr == 0 and cols % fw == 0


def test_wide_targets_give_squeezenets_conv10_a_whole_row_of_accumulators():
    # 125 blocks and 13 rows leave the (14-wide computed) row: 14 accumulators fit AVX-512's 32 registers
    assert _channel_tile(125, 13, 14, WIDE_ACC_BUDGET) == (1, 1, 14)
    assert _channel_tile(125, 13, 14, ACC_BUDGET) == (1, 1, 7)
