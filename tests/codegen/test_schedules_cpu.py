"""The llvm schedule rules really parallelize and vectorize: inspect the scheduled TIR of representative
kernels, and check that big scheduled kernels (rfactor, row fusion) still compute the reference."""

import numpy as np
import pytest

import kernforge
from kernforge.codegen.build import plan_function
from kernforge.codegen.kernel import build_primfunc, kernel_spec
from kernforge.codegen.schedules import apply_schedule
from kernforge.codegen.schedules.cpu import MIN_PARALLEL_WORK
from kernforge.codegen.target import Target
from kernforge.ir import Builder, interpret
from kernforge.passes import run_pipeline

from ..ir.ops.harness import rand

# A fixed target, so that the checks do not depend on the host's core count or vector width.
TARGET = Target("llvm", {}, vector_bits=256, cores=8)
SERIAL, PARALLEL, VECTORIZED = 0, 1, 2


def build(op, shapes, attrs=None, dtypes=None):
    b = Builder("m")
    f = b.function()
    args = [f.arg(f"a{i}", list(s), (dtypes or ["f32"] * len(shapes))[i]) for i, s in enumerate(shapes)]
    res = f.op(op, *args, **(attrs or {}))
    f.ret(*(res if isinstance(res, tuple) else [res]))
    return b.module


def scheduled(op, shapes, attrs=None, dtypes=None):
    spec = kernel_spec(build(op, shapes, attrs, dtypes).main.nodes[-1])
    return apply_schedule(build_primfunc(spec, "k"), spec.rule, TARGET)["main"]


def blocks_in(stmt, loops=()):
    """(block name, kinds of the loops around it, outermost first) for every block of a TIR statement."""
    if hasattr(stmt, "kind") and hasattr(stmt, "loop_var"):
        return blocks_in(stmt.body, loops + (int(stmt.kind),))
    if hasattr(stmt, "seq"):
        return [b for s in stmt.seq for b in blocks_in(s, loops)]
    if hasattr(stmt, "block"):
        inner = blocks_in(stmt.block.body, loops)
        return ([(stmt.block.name_hint, loops)] if loops or not inner else []) + inner
    return []


def kernel_blocks(func):
    return [(name, kinds) for name, kinds in blocks_in(func.body.block.body)]


def assert_all_parallel(func):
    found = kernel_blocks(func)
    assert found and all(PARALLEL in kinds for _, kinds in found), found


def vectorized(func) -> list[str]:
    return [name for name, kinds in kernel_blocks(func) if kinds and kinds[-1] == VECTORIZED]


@pytest.mark.parametrize("op, shapes, attrs", [
    ("relu", [(64, 256)], {}),
    ("gelu", [(32, 33, 16)], {}),
    ("pad", [(64, 120)], {"pads": [0, 4, 0, 4]}),
    ("batch_norm", [(8, 16, 32), (16,), (16,), (16,), (16,)], {}),
    ("resize", [(1, 4, 32, 32)], {"scales": [1, 1, 2, 2], "mode": "linear"}),
])
def test_injective_kernels_run_fused_parallel_and_vectorized(op, shapes, attrs):
    func = scheduled(op, shapes, attrs)
    assert_all_parallel(func)
    assert vectorized(func), func.script()


@pytest.mark.parametrize("shape, perm", [((64, 128), [1, 0]), ((4, 32, 48), [0, 2, 1])])
def test_transposes_move_tiles_in_parallel(shape, perm):
    func = scheduled("transpose", [shape], {"perm": perm})
    assert_all_parallel(func)
    tile = [int(lp.extent) for lp in loop_nest(func.body.block.body)][-2:]
    assert tile == [16, 16], func.script()


def loop_nest(stmt):
    """The loops of a perfect loop nest, outermost first."""
    out = []
    while hasattr(stmt, "loop_var"):
        out.append(stmt)
        stmt = stmt.body
    return out


def test_a_channel_shuffle_keeps_its_vectors_within_planes():
    """ShuffleNet's reshape-transpose-reshape over [1, 112, 56, 56]: vectors of the fused loop crossed
    channels, where the reshapes' divisions change, and gathered (0.28 ms); along each 56 x 56 plane,
    which the shuffle moves whole, every vector is one load (0.040 ms on znver4; 0.069 ms in vectors
    of 8 within rows)."""
    b = Builder("m")
    f = b.function()
    y = f.op("reshape", f.arg("x", [1, 112, 56, 56]), shape=[1, 4, 28, 56, 56])
    y = f.op("reshape", f.op("transpose", y, perm=[0, 2, 1, 3, 4]), shape=[1, 112, 56, 56])
    f.ret(y)
    cm = kernforge.compile(b.module, opt_level=3)
    _, specs = plan_function(run_pipeline(b.module, "O3").main)
    (spec,) = specs.values()
    avx512 = Target("llvm", {}, vector_bits=512, cores=8)
    func = apply_schedule(build_primfunc(spec, "k"), spec.rule, avx512)["main"]
    assert_all_parallel(func)
    # rows and columns fused (the read indexes them unchanged), then split in vectors of 16
    assert [int(lp.extent) for lp in loop_nest(func.body.block.body)] == [112 * 56 * 56 // 16, 16], func.script()
    assert vectorized(func), func.script()
    x = cm.random_inputs()
    np.testing.assert_array_equal(list(cm.run(x).values())[0],
                                  list(interpret(b.module, x).values())[0])


UNROLLED = 3


def test_a_concat_splitting_the_innermost_axis_unrolls_its_lanes():
    """Each 16-lane vector of the [2, 3, 32] result crossed two 4-wide concat halves; TVM left the loop
    scalar and LLVM's loop vectorizer miscompiled it on znver4 (lanes 8..11 read cos[8..11]). Unrolled,
    each lane's concat branch folds to one load."""
    b = Builder("m")
    f = b.function()
    x1, sin_x2, imag = (f.arg(n, [2, 3, 4, 4]) for n in ("x1", "sin_x2", "imag"))
    real = f.op("sub", f.op("mul", f.arg("cos", [2, 3, 1, 4]), x1), sin_x2)  # ONNX RotaryEmbedding's last kernel
    f.ret(f.op("reshape", f.op("concat", real, imag, axis=-1), shape=[2, 3, 32]))
    _, specs = plan_function(run_pipeline(b.module, "O2").main)
    (spec,) = specs.values()
    for bits in (256, 512):
        func = apply_schedule(build_primfunc(spec, "k"), spec.rule, Target("llvm", {}, vector_bits=bits, cores=2))["main"]
        kinds = [int(lp.kind) for lp in loop_nest(func.body.block.body)]
        assert kinds[-1] == UNROLLED and not vectorized(func), func.script()
    cm = kernforge.compile(b.module, opt_level=2)
    x = cm.random_inputs()
    np.testing.assert_allclose(list(cm.run(x).values())[0], list(interpret(b.module, x).values())[0], rtol=1e-6)


def test_a_concat_of_outer_axes_stays_vectorized():
    func = scheduled("concat", [(4, 8, 64), (4, 8, 64)], {"axis": 1})
    assert vectorized(func), func.script()


def test_small_kernels_stay_on_one_core_but_vectorize():
    func = scheduled("relu", [(4, 8)])
    assert 4 * 8 < MIN_PARALLEL_WORK
    assert all(PARALLEL not in kinds for _, kinds in kernel_blocks(func))
    assert vectorized(func) == ["relu"]


@pytest.mark.parametrize("op, shapes, attrs, reductions", [
    ("softmax", [(64, 1024)], {}, 2),
    ("log_softmax", [(64, 1024)], {}, 2),
    ("layer_norm", [(32, 768), (768,), (768,)], {}, 2),
    ("rms_norm", [(32, 4096), (4096,)], {}, 1),
    ("instance_norm", [(2, 16, 32, 32), (16,), (16,)], {}, 2),
    ("group_norm", [(2, 32, 16, 16), (32,), (32,)], {"num_groups": 8}, 2),
])
def test_row_reductions_fuse_into_one_parallel_row_loop(op, shapes, attrs, reductions):
    func = scheduled(op, shapes, attrs)
    root = func.body.block.body
    assert int(root.kind) == PARALLEL, func.script()  # one loop over rows holds every block
    # every reduction accumulates in vector lanes (rfactor), the row's outputs are written as vectors
    vec = vectorized(func)
    assert sum(name.endswith("_rf_update") for name in vec) == reductions and op in vec, vec


def test_reduction_over_the_contiguous_axis_uses_vector_lanes():
    func = scheduled("sum", [(256, 1024)], {"axes": [1]})
    assert_all_parallel(func)
    assert "sum_rf_update" in vectorized(func)


def test_reduction_over_a_leading_axis_vectorizes_across_it_in_parallel_chunks():
    func = scheduled("sum", [(1024, 512)], {"axes": [0]})
    assert_all_parallel(func)
    assert "sum_update" in vectorized(func)
    found = dict(kernel_blocks(func))
    assert found["sum_update"][0] == PARALLEL and len(found["sum_update"]) >= 3  # chunk, reduce, lanes


def test_softmax_over_a_middle_axis_keeps_reductions_at_root_but_parallel():
    func = scheduled("softmax", [(8, 256, 64)], {"axis": 1})
    assert_all_parallel(func)
    assert {"softmax_max_update", "softmax_sum_update", "softmax"} <= set(vectorized(func))


def test_cumsum_scan_runs_rows_in_parallel():
    assert "T.parallel(" in scheduled("cumsum", [(64, 128)], {"axis": 1}).script()


def test_float8_kernels_vectorize_and_convert_exactly():
    assert "softmax" in vectorized(scheduled("softmax", [(64, 256)], dtypes=["f8e4m3"]))
    # zero, subnormals, rounding ties, overflow (NaN in e4m3fn, inf in e5m2) and NaN, in vector loops
    x = np.array([0.0, -0.0, 1e-3, 3.3e-3, 0.0137, 1.0625, 1.1875, 500.0, -1e6, np.nan] * 4, np.float32)
    for dt in ("f8e4m3", "f8e5m2"):
        module = build("cast", [x.shape], {"dtype": dt})
        ours = kernforge.compile(module, opt_level=0).run({"a0": x})
        ref = interpret(module, {"a0": x})
        np.testing.assert_array_equal(next(iter(ours.values())).view(np.uint8), next(iter(ref.values())).view(np.uint8))


# Big enough for rfactor lanes, row fusion and parallel chunks, unlike the op test cases.
BIG = [
    ("softmax", [rand(64, 1024)], {}),
    ("log_softmax", [rand(8, 256, 64)], {"axis": 1}),
    ("layer_norm", [rand(32, 768), rand(768, seed=1), rand(768, seed=2)], {}),
    ("group_norm", [rand(2, 32, 16, 16), rand(32, seed=1), rand(32, seed=2)], {"num_groups": 8}),
    ("sum", [rand(1024, 512)], {"axes": [0]}),
    ("mean", [rand(256, 1024)], {"axes": None}),
    ("max", [rand(64, 4096)], {"axes": [1], "keepdims": True}),
    ("argmax", [rand(64, 4096)], {"axis": 1}),
    ("l2_norm", [rand(16, 64, 64)], {"axes": [0, 2]}),
    ("cumsum", [rand(64, 512)], {"axis": 1}),
    ("transpose", [rand(128, 64)], {"perm": [1, 0]}),
]


def test_big_scheduled_kernels_match_the_interpreter():
    b = Builder("big")
    f = b.function()
    inputs, outs = {}, []
    for k, (op, arrays, attrs) in enumerate(BIG):
        args = []
        for j, a in enumerate(arrays):
            args.append(f.arg(f"k{k}_{j}", list(a.shape), "f32"))
            inputs[f"k{k}_{j}"] = a
        outs.append(f.op(op, *args, **attrs))
    f.ret(*outs)
    ours = kernforge.compile(b.module, opt_level=0).run(inputs)
    ref = interpret(b.module, inputs)
    for name in ref:
        np.testing.assert_allclose(np.asarray(ours[name], np.float64), np.asarray(ref[name], np.float64),
                                   rtol=1e-4, atol=1e-4, err_msg=name)
