"""plan-memory: live ranges, best-fit storage reuse, in-place elementwise kernels, executor views, inspect."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernforge
from kernforge.cli import main
from kernforge.codegen.memory import assign_storage, live_ranges, memory_stats, plan_memory
from kernforge.ir import Builder, interpret
from kernforge.runtime.plan import Plan, Step

KERNELS = {"conv": {"rule": "conv2d", "anchor": "conv2d", "ops": ["conv2d"]},
           "relu": {"rule": "injective", "anchor": "relu", "ops": ["relu"]},
           "add_relu": {"rule": "injective", "anchor": "add", "ops": ["add", "relu"]},
           "pool": {"rule": "pool", "anchor": "max_pool2d", "ops": ["max_pool2d"]}}


def chain(shapes: list[tuple[str, list[int]]], dtype: str = "f32") -> Plan:
    """Step i runs kernel shapes[i][0] on buf:i-1 (in:x first) and writes buf:i; the last is the output."""
    plan = Plan(kernels=dict(KERNELS))
    prev = "in:x"
    for i, (kernel, shape) in enumerate(shapes):
        plan.buffers[f"buf:{i}"] = (shape, dtype)
        plan.steps.append(Step(kernel, [prev], [f"buf:{i}"]))
        prev = f"buf:{i}"
    plan.output_slots = [prev]
    return plan


# conv/relu pairs shrinking 4096 -> 2048 -> 1024 -> 1024 -> 512 bytes of f32.
MIXED = [("conv", [1, 16, 8, 8]), ("relu", [1, 16, 8, 8]), ("conv", [1, 32, 4, 4]), ("relu", [1, 32, 4, 4]),
         ("conv", [1, 64, 2, 2]), ("relu", [1, 64, 2, 2]), ("conv", [1, 64, 2, 2]), ("relu", [1, 64, 2, 2]),
         ("conv", [1, 32, 2, 2]), ("relu", [1, 32, 2, 2])]


def test_mixed_chain_exact_bytes():
    plan = plan_memory(chain(MIXED))
    # Each relu runs in place on its conv's result: five units of 4096, 2048, 1024, 1024, 512 bytes whose
    # neighbours overlap at one step, so two storages alternate; the first (4096) takes every even unit.
    assert plan.storage == {"s0": 4096, "s1": 2048}
    assert [plan.buffer_storage[f"buf:{i}"] for i in range(10)] == ["s0"] * 2 + ["s1"] * 2 + ["s0"] * 2 + \
        ["s1"] * 2 + ["s0"] * 2
    assert memory_stats(plan) == {"naive_activation_bytes": 17408, "peak_activation_bytes": 6144,
                                  "activation_buffers": 10, "storages": 2}


def test_mixed_chain_without_inplace_needs_two_full_blocks():
    plan = plan_memory(chain(MIXED), inplace=False)
    assert plan.storage == {"s0": 4096, "s1": 4096}
    assert memory_stats(plan)["peak_activation_bytes"] == 8192


def test_elementwise_chain_is_one_buffer_in_place():
    plan = plan_memory(chain([("relu", [2, 64])] * 10))
    assert plan.storage == {"s0": 512} and set(plan.buffer_storage.values()) == {"s0"}
    assert memory_stats(plan_memory(chain([("relu", [2, 64])] * 10), inplace=False))["peak_activation_bytes"] == 1024


def test_sub_byte_and_bool_buffers_take_a_byte_per_element():
    assert memory_stats(plan_memory(chain([("relu", [3, 5])], "i4")))["naive_activation_bytes"] == 15
    assert memory_stats(plan_memory(chain([("relu", [3, 5])], "bool")))["peak_activation_bytes"] == 15


@pytest.mark.parametrize("why, edit", [
    ("not elementwise", lambda p: p.steps[1].__setattr__("kernel", "pool")),
    ("different shape", lambda p: p.buffers.__setitem__("buf:1", ([4, 16], "f32"))),
    ("different dtype", lambda p: p.buffers.__setitem__("buf:1", ([2, 32], "i32"))),
    ("input read later", lambda p: p.steps[2].inputs.append("buf:0")),
    ("input is a model output", lambda p: p.output_slots.append("buf:0")),
])
def test_no_inplace_when_unsafe(why, edit):
    plan = chain([("conv", [2, 32]), ("relu", [2, 32]), ("conv", [2, 32])])
    edit(plan)
    plan_memory(plan)
    assert plan.buffer_storage["buf:0"] != plan.buffer_storage["buf:1"], why


def test_no_inplace_for_model_inputs_or_multi_output_kernels():
    plan = chain([("relu", [2, 32])])
    plan.steps[0].outputs.append("buf:x")
    plan.buffers["buf:x"] = ([2, 32], "f32")
    plan.steps.append(Step("relu", ["buf:0"], ["buf:1"]))
    plan.buffers["buf:1"] = ([2, 32], "f32")
    plan.output_slots = ["buf:1"]
    plan_memory(plan)
    assert "in:x" not in plan.buffer_storage
    # buf:0 dies at step 1 where the single-output relu writes buf:1: that one is in place.
    assert plan.buffer_storage["buf:0"] == plan.buffer_storage["buf:1"] != plan.buffer_storage["buf:x"]


def test_outputs_live_to_the_end():
    plan = chain([("conv", [8])] * 6)
    plan.output_slots = ["buf:1", "buf:5"]
    ranges = live_ranges(plan)
    assert ranges["buf:1"] == (1, 6) and ranges["buf:5"] == (5, 6) and ranges["buf:2"] == (2, 3)
    plan_memory(plan)
    later = {plan.buffer_storage[f"buf:{i}"] for i in range(2, 6)}
    assert plan.buffer_storage["buf:1"] not in later


@st.composite
def random_plans(draw) -> Plan:
    """A random DAG: each step reads 1-3 earlier values and writes 1-2 buffers of a few shapes."""
    plan = Plan(kernels=dict(KERNELS))
    values = ["in:x", "param:w"]
    for s in range(draw(st.integers(1, 14))):
        inputs = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3))
        outs = [f"buf:{s}.{j}" for j in range(draw(st.integers(1, 2)))]
        for o in outs:
            plan.buffers[o] = (draw(st.sampled_from([[4], [8], [2, 4], [16]])), draw(st.sampled_from(["f32", "i8"])))
        plan.steps.append(Step(draw(st.sampled_from(sorted(KERNELS))), inputs, outs))
        values += outs
    plan.output_slots = draw(st.lists(st.sampled_from(values[2:]), min_size=1, max_size=3))
    return plan


def simulate(plan: Plan) -> None:
    """Run the plan on storage tokens: every read must find the value its writer left there."""
    holds: dict[str, str] = {}
    where = lambda slot: plan.buffer_storage.get(slot, slot)  # noqa: E731 - unplanned buffers are their own
    for step in plan.steps:
        for slot in step.inputs:
            assert slot not in plan.buffers or holds[where(slot)] == slot, f"{slot} clobbered before {step}"
        for slot in step.outputs:
            holds[where(slot)] = slot
    assert all(holds[where(s)] == s for s in plan.output_slots), "an output was overwritten"


@settings(max_examples=300, deadline=None)
@given(random_plans(), st.booleans())
def test_random_plans_never_share_live_storage(plan, inplace):
    ranges = live_ranges(plan)
    plan_memory(plan, inplace)
    simulate(plan)
    from kernforge.codegen.memory import buffer_nbytes, inplace_safe

    for a in plan.buffer_storage:
        assert plan.storage[plan.buffer_storage[a]] >= buffer_nbytes(*plan.buffers[a])
        for b in plan.buffer_storage:
            ra, rb = ranges[a], ranges[b]
            if a >= b or plan.buffer_storage[a] != plan.buffer_storage[b] or rb[1] < ra[0] or ra[1] < rb[0]:
                continue
            # Live at once in one storage: only a donor dying where its in-place receiver is written.
            donor, recv = (a, b) if ra[0] < rb[0] else (b, a)
            s = ranges[recv][0]
            assert inplace and ranges[donor][1] == s and donor in plan.steps[s].inputs
            assert inplace_safe(plan, plan.steps[s].kernel) and plan.buffers[donor] == plan.buffers[recv]


def test_assign_storage_best_fit_prefers_the_smallest_free_block():
    sizes = {"a": 100, "b": 60, "c": 50, "d": 40}
    where, storage = assign_storage(sizes, {"a": (0, 1), "b": (0, 1), "c": (2, 3), "d": (4, 5)})
    assert storage == {"s0": 100, "s1": 60} and where["c"] == "s1" and where["d"] == "s1"


def test_plan_json_round_trip_and_old_plans():
    plan = plan_memory(chain(MIXED))
    again = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again == plan
    old = plan.to_json()
    del old["storage"], old["buffer_storage"]
    legacy = Plan.from_json(old)
    assert legacy.storage == {} and memory_stats(legacy)["peak_activation_bytes"] == 17408


def convnet():
    """conv-relu, then an elementwise tail and a residual: at -O0 every op is its own kernel."""
    rng = np.random.default_rng(0)
    b = Builder("convnet")
    f = b.function()
    x = f.arg("x", [1, 3, 12, 12])
    w1 = b.param("w1", rng.standard_normal((8, 3, 3, 3)).astype(np.float32))
    w2 = b.param("w2", rng.standard_normal((8, 8, 3, 3)).astype(np.float32))
    h = f.relu(f.conv2d(x, w1, pads=[1, 1, 1, 1]))
    g = f.sigmoid(f.conv2d(h, w2, pads=[1, 1, 1, 1]))
    y = f.tanh(f.relu(f.add(g, h)))
    f.ret(f.conv2d(y, w2, pads=[1, 1, 1, 1]))
    return b.module


@pytest.fixture(scope="module")
def compiled():
    return kernforge.compile(convnet(), opt_level=0)


def test_compiled_model_same_outputs_with_and_without_planning(compiled, tmp_path):
    from kernforge.runtime.executor import Executor

    plan = compiled.executor.plan
    stats = memory_stats(plan)
    assert stats["peak_activation_bytes"] < stats["naive_activation_bytes"]
    # In place: relu on conv's result; sigmoid, add (over the sigmoid), relu and tanh on one storage.
    where = [plan.buffer_storage[f"buf:{i}.0"] for i in range(8)]
    assert where[0] == where[1] and len(set(where[2:7])) == 1 and where[7] != where[6]
    x = np.random.default_rng(1).standard_normal((1, 3, 12, 12)).astype(np.float32)
    ref = list(interpret(convnet(), {"x": x}).values())[0]
    naive = Executor(compiled._lib, dataclasses.replace(plan, storage={}, buffer_storage={}),
                     compiled.executor.param_arrays)
    planned = compiled(x)
    np.testing.assert_allclose(planned, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(planned, list(naive.run({"x": x}).values())[0])
    np.testing.assert_array_equal(compiled(x), planned)  # a second run over reused storage
    compiled.save(str(tmp_path / "m.kfa"))
    loaded = kernforge.load(str(tmp_path / "m.kfa"))
    assert loaded.executor.plan.buffer_storage == plan.buffer_storage
    np.testing.assert_array_equal(loaded(x), planned)


def test_inspect_reports_memory_plan(compiled, tmp_path, capsys):
    path = str(tmp_path / "m.kfa")
    compiled.save(path)
    assert main(["inspect", path, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {"ops", "kernels", "peak_activation_bytes", "naive_activation_bytes"} <= stats.keys()
    assert 0 < stats["peak_activation_bytes"] < stats["naive_activation_bytes"]
    assert stats["kernel_calls"] == len(compiled.executor.plan.steps)
    assert main(["inspect", path]) == 0
    assert "peak activations" in capsys.readouterr().out


CONCAT_KERNELS = {**KERNELS, "concat": {"rule": "injective", "anchor": "concat", "ops": ["concat"]}}


def concat_plan(channels: list[int], shape=(4, 4), leading: int = 1, output_operand: bool = False) -> Plan:
    """Convs from in:x to [leading, c, *shape] buffers, concatenated along axis 1 into buf:cat, then a conv."""
    plan = Plan(kernels=dict(CONCAT_KERNELS))
    for i, c in enumerate(channels):
        plan.buffers[f"buf:{i}"] = ([leading, c, *shape], "f32")
        plan.steps.append(Step("conv", ["in:x"], [f"buf:{i}"]))
    plan.buffers["buf:cat"] = ([leading, sum(channels), *shape], "f32")
    plan.steps.append(Step("concat", [f"buf:{i}" for i in range(len(channels))], ["buf:cat"]))
    plan.buffers["buf:y"] = ([1, 8, 4, 4], "f32")
    plan.steps.append(Step("conv", ["buf:cat"], ["buf:y"]))
    plan.output_slots = ["buf:y", *(["buf:0"] if output_operand else [])]
    return plan


def test_concat_operands_are_written_into_the_result_and_the_concat_leaves_the_plan():
    plan = plan_memory(concat_plan([8, 4, 4]))
    assert [s.kernel for s in plan.steps] == ["conv"] * 4 and "concat" not in plan.kernels
    where = {plan.buffer_storage[s] for s in ("buf:0", "buf:1", "buf:2", "buf:cat")}
    assert len(where) == 1 and plan.storage[where.pop()] == 16 * 16 * 4
    assert [plan.buffer_offset.get(f"buf:{i}", 0) for i in range(3)] == [0, 8 * 16 * 4, 12 * 16 * 4]


@pytest.mark.parametrize("why, plan", [
    ("batch of 2: operands interleave in the result", concat_plan([8, 8], leading=2)),
    ("3 channels of 1x1: offset 12 bytes, unaligned", concat_plan([3, 5], shape=(1, 1))),
    ("an operand is a model output", concat_plan([8, 8], output_operand=True)),
])
def test_concat_stays_when_its_operands_cannot_be_regions(why, plan):
    plan_memory(plan)
    assert "concat" in [s.kernel for s in plan.steps], why
    assert not any(plan.buffer_offset.values())


@st.composite
def concat_dags(draw) -> Plan:
    """Convs, relus and concats (along channels, of 4 or 8 channel values, nested, repeated) in random order."""
    plan = Plan(kernels=dict(CONCAT_KERNELS))
    values = []
    for s in range(draw(st.integers(1, 10))):
        out = f"buf:{s}"
        picks = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)) if values else []
        kind = draw(st.sampled_from(["concat", "relu", "conv"])) if picks else "conv"
        if kind == "concat":
            plan.steps.append(Step("concat", picks, [out]))
            plan.buffers[out] = ([1, sum(plan.buffers[p][0][1] for p in picks), 4], "f32")
        elif kind == "relu":  # may run in place over its operand
            plan.steps.append(Step("relu", picks[:1], [out]))
            plan.buffers[out] = plan.buffers[picks[0]]
        else:
            plan.steps.append(Step("conv", picks[:1] or ["in:x"], [out]))
            plan.buffers[out] = ([1, draw(st.sampled_from([4, 8])), 4], "f32")
        values.append(out)
    plan.output_slots = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    return plan


@settings(max_examples=300, deadline=None)
@given(concat_dags())
def test_random_concats_in_place_read_what_their_operands_wrote(plan):
    """Byte-level simulation: every read finds, byte for byte, what the plan without regions would hold."""
    want = {}  # slot -> the writer tag of each of its bytes, unplanned
    for step in plan.steps:
        (out,) = step.outputs
        want[out] = (np.concatenate([want[s] for s in step.inputs]) if step.kernel == "concat"
                     else np.full(16 * plan.buffers[out][0][1], int(out[4:])))
    plan_memory(plan)
    memory = {sid: np.full(n, -1) for sid, n in plan.storage.items()}
    view = lambda s: memory[plan.buffer_storage[s]][plan.buffer_offset.get(s, 0):][:want[s].size]  # noqa: E731
    for step in plan.steps:
        for s in step.inputs:
            if s.startswith("buf:"):
                np.testing.assert_array_equal(view(s), want[s], err_msg=f"{s} read by {step}")
        (out,) = step.outputs
        view(out)[:] = want[out]
    for s in plan.output_slots:
        np.testing.assert_array_equal(view(s), want[s], err_msg=f"output {s}")


def dense_block(layers: int = 3, c: int = 16, growth: int = 16):
    """DenseNet's block: each conv reads the concat of all features so far (concats of concats)."""
    rng = np.random.default_rng(3)
    b = Builder("dense")
    f = b.function()
    feats = f.arg("x", [1, c, 10, 10])
    for i in range(layers):
        w = b.param(f"w{i}", rng.standard_normal((growth, c + i * growth, 3, 3)).astype(np.float32) * 0.1)
        new = f.relu(f.conv2d(feats, w, pads=[1, 1, 1, 1]))
        feats = f.op("concat", feats, new, axis=1) if i else f.op("concat", f.relu(feats), new, axis=1)
    f.ret(f.sigmoid(feats))
    return b.module


@pytest.mark.parametrize("opt_level", [0, 3])
def test_compiled_concats_of_concats_run_in_place_and_survive_save_and_load(opt_level, tmp_path):
    module = dense_block()
    x = np.random.default_rng(4).standard_normal((1, 16, 10, 10)).astype(np.float32)
    compiled = kernforge.compile(module, opt_level=opt_level)
    plan = compiled.executor.plan
    # every lone concat is gone (at -O3 the last one is fused with the sigmoid, and stays)
    assert not any(k["ops"] == ["concat"] for k in plan.kernels.values()) and any(plan.buffer_offset.values())
    (want,) = interpret(module, [x]).values()
    np.testing.assert_allclose(compiled(x), want, rtol=1e-4, atol=1e-5)  # float32 sums reordered
    compiled.save(str(tmp_path / "m.kfa"))
    loaded = kernforge.load(str(tmp_path / "m.kfa"))
    assert loaded.executor.plan.buffer_offset == plan.buffer_offset
    np.testing.assert_array_equal(loaded(x), compiled(x))
