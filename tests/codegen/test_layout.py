"""The layout pass compiled (NCHW8c between convolutions): every kind of convolution that reads or
writes blocked tensors, the residual add, the transforms at the edges, all against the interpreter."""

import re

import numpy as np
import pytest

import kernforge
from kernforge.ir import Builder, interpret
from kernforge.passes import run_pipeline

RNG = np.random.default_rng(0)


def weight(*shape):
    return (RNG.standard_normal(shape) * 0.2).astype(np.float32)


def mobile_net(c: int = 16, hw: int = 14):
    """A 3x3 stride-2 stem from a 3-channel input, an inverted residual (1x1 expand, depthwise 3x3,
    1x1 project, residual add), a stride-2 depthwise, a 1x1 to 12 channels (not a whole block) and a
    pool: each kind of conv kernel on blocked inputs or outputs."""
    b = Builder("mobile")
    f = b.function()
    x = f.arg("x", [1, 3, 2 * hw, 2 * hw])
    relu6 = lambda v: f.op("clip", v, min=0.0, max=6.0)
    conv = lambda v, w, **a: f.op("conv2d", v, f.param(f"w{len(b.module.params)}", w), **a)
    stem = relu6(conv(x, weight(c, 3, 3, 3), pads=[1, 1, 1, 1], strides=[2, 2]))
    e = relu6(conv(stem, weight(6 * c, c, 1, 1)))
    e = relu6(conv(e, weight(6 * c, 1, 3, 3), pads=[1, 1, 1, 1], group=6 * c))
    y = f.op("add", conv(e, weight(c, 6 * c, 1, 1)), stem)
    y = relu6(conv(y, weight(c, 1, 3, 3), pads=[1, 1, 1, 1], strides=[2, 2], group=c))
    tail = conv(y, weight(12, c, 1, 1))
    f.ret(f.op("global_avg_pool", tail), y)
    return b.module


def test_the_pass_blocks_the_chain_and_transforms_only_at_the_edges():
    mod = run_pipeline(mobile_net(), "layout")
    blocked = [n.op for n in mod.main.nodes if n.results[0].type.layout == "NCHW8c"]
    assert blocked == ["conv2d", "clip"] * 3 + ["conv2d", "add", "conv2d", "clip"]
    transforms = [n for n in mod.main.nodes if n.op == "layout_transform"]
    assert len(transforms) == 1 and mod.main.outputs[1] is transforms[0].results[0]  # the returned y


@pytest.mark.parametrize("opt_level", [0, 3])
def test_compiled_matches_the_interpreter(opt_level):
    module = mobile_net()
    x = RNG.standard_normal((1, 3, 28, 28)).astype(np.float32)
    want = interpret(module, [x])
    pipeline = "layout" if opt_level == 0 else None  # -O3 runs layout itself, then fusion
    compiled = kernforge.compile(run_pipeline(module, pipeline) if pipeline else module, opt_level=opt_level)
    ir = compiled.ir()
    assert "NCHW8c" in ir and "layout_transform" in ir
    for got, ref in zip(compiled.run([x]).values(), want.values()):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)  # float32 sums in another order


def test_a_blocked_function_output_comes_back_logical():
    b = Builder("edge")
    f = b.function()
    x = f.arg("x", [1, 16, 3, 5])
    f.ret(f.op("relu", f.op("layout_transform", x, layout="NCHW8c")))
    x_in = RNG.standard_normal((1, 16, 3, 5)).astype(np.float32)
    (got,) = kernforge.compile(b.module, opt_level=0).run([x_in]).values()
    assert got.shape == (1, 16, 3, 5)
    np.testing.assert_array_equal(got, np.maximum(x_in, 0))


def fire_module(c: int = 16, hw: int = 13):
    """SqueezeNet's fire module: a squeeze 1x1, two expands (1x1 and 3x3) concatenated along
    channels, read by the next 1x1 conv."""
    b = Builder("fire")
    f = b.function()
    x = f.arg("x", [1, c, hw, hw])
    conv = lambda v, w, **a: f.op("relu", f.op("conv2d", v, f.param(f"w{len(b.module.params)}", w), **a))
    s = conv(x, weight(c, c, 1, 1))
    fire = f.op("concat", conv(s, weight(2 * c, c, 1, 1)), conv(s, weight(2 * c, c, 3, 3), pads=[1, 1, 1, 1]),
                axis=1)
    f.ret(conv(fire, weight(24, 4 * c, 1, 1)))
    return b.module


def test_a_concat_of_blocked_convs_stays_blocked_and_matches_the_interpreter():
    module = fire_module()
    x = RNG.standard_normal((1, 16, 13, 13)).astype(np.float32)
    want = interpret(module, [x])
    compiled = kernforge.compile(module, opt_level=3)
    ir = compiled.ir()
    assert "concat" in ir and "tensor<1x64x13x13xf32, NCHW8c>" in ir, ir
    (got,) = compiled.run([x]).values()
    np.testing.assert_allclose(got, next(iter(want.values())), rtol=1e-4, atol=1e-5)  # float32 sums reordered


POOLS = [  # op, attrs: every geometry the blocked pool kernel handles without a padded copy
    ("max_pool", {"kernel_shape": [3, 3], "strides": [2, 2]}),  # SqueezeNet's, no padding
    ("max_pool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),  # ResNet's
    ("max_pool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": True}),  # an overhanging window
    ("max_pool", {"kernel_shape": [2, 3], "strides": [1, 2], "dilations": [2, 1], "pads": [1, 1, 0, 1]}),
    ("avg_pool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),  # Inception's, pads not counted
    ("avg_pool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": True,
                  "ceil_mode": True}),
]


@pytest.mark.parametrize("op, attrs", POOLS, ids=lambda p: str(p))
def test_a_pool_between_convs_pools_the_channel_blocks_and_matches_the_interpreter(op, attrs):
    b = Builder("pool")
    f = b.function()
    stem = f.op("relu", f.op("conv2d", f.arg("x", [1, 3, 23, 23]), f.param("w0", weight(16, 3, 3, 3)), strides=[2, 2]))
    f.ret(f.op("conv2d", f.op(op, stem, **attrs), f.param("w1", weight(8, 16, 1, 1))))
    x = RNG.standard_normal((1, 3, 23, 23)).astype(np.float32)
    compiled = kernforge.compile(b.module, opt_level=3)
    ir = compiled.ir()
    assert re.search(rf"= {op}\(.*NCHW8c>", ir) and "layout_transform" not in ir, ir  # stem, pool: blocked
    (got,) = compiled.run([x]).values()
    (want,) = interpret(b.module, [x]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # float32 sums in another order
