"""canonicalize keeps semantics: on random chains of simplifiable (and not quite simplifiable) patterns,
the interpreter gives identical outputs, with identical names, before and after."""

from __future__ import annotations

import numpy as np
import pytest

from kernforge.ir import Builder, interpret, parse_module, verify
from kernforge.passes import count_nodes, run_pipeline

SHAPE = (2, 3, 4)


def _arith(f, b, x, rng):
    op = rng.choice(["mul", "add", "sub", "div"])
    value = 1.0 if op in ("mul", "div") else 0.0
    # Sometimes the neutral constant broadcasts x to a bigger shape, or is not neutral at all.
    shape = [(4,), (1, 3, 1), (1, 2, 3, 4)][rng.integers(3)]
    c = b.param(f"c{rng.integers(1 << 30)}", np.full(shape, value + (rng.random() < 0.2), np.float32))
    return f.op(op, *((x, c) if op in ("sub", "div") or rng.random() < 0.5 else (c, x)))


def _transpose_pair(f, b, x, rng):
    p, q = tuple(rng.permutation(3)), tuple(rng.permutation(3))
    y = f.transpose(f.transpose(x, perm=p), perm=q)
    # Transpose back so the chain keeps its shape: the three compose into one (or nothing).
    inverse = tuple(int(i) for i in np.argsort([p[i] for i in q]))
    return f.transpose(y, perm=inverse)


def _reshape_chain(f, b, x, rng):
    mid = [[6, 4], [24], [2, 12], [0, 12], [2, 3, 2, 2]][rng.integers(5)]
    y = f.reshape(x, shape=mid)
    return f.reshape(y, shape=[0 if y.type.shape[0] == 2 else 2, 3, -1])  # 0 copies the middle's dim


def _squeeze_pair(f, b, x, rng):
    axes = [[0], [3], [1, -1]][rng.integers(3)]
    y = f.unsqueeze(x, axes=axes)
    return f.squeeze(y, axes=axes if rng.random() < 0.7 else None)


def _noops(f, b, x, rng):
    choice = rng.integers(6)
    if choice == 0:
        return f.identity(x)
    if choice == 1:
        return f.cast(f.cast(x, dtype=rng.choice(["f32", "f16", "i32"])), dtype="f32")
    if choice == 2:
        return f.concat(x, axis=int(rng.integers(3)))
    if choice == 3:
        return f.slice(x, starts=[int(rng.choice([0, -4, -9]))], ends=[2**63 - 1], axes=[2])
    if choice == 4:  # two partial slices, joined back: equal to x, but not simplified
        return f.concat(f.slice(x, starts=[0], ends=[1], axes=[2]), f.slice(x, starts=[1], ends=[4], axes=[2]),
                        axis=2)
    return f.expand(x, shape=[3, 1])


def _math(f, b, x, rng):
    return f.op(rng.choice(["neg", "exp", "abs"]), x) if rng.random() < 0.5 else f.add(x, x)


PATTERNS = [_arith, _transpose_pair, _reshape_chain, _squeeze_pair, _noops, _math]


def random_module(seed: int):
    """A chain of random patterns on one input; a few intermediate values are returned as well."""
    rng = np.random.default_rng(seed)
    b = Builder(f"r{seed}")
    f = b.function("main")
    x = f.arg("x", SHAPE)
    outs, v = [], x
    for _ in range(int(rng.integers(4, 12))):
        v = PATTERNS[rng.integers(len(PATTERNS))](f, b, v, rng)
        if v.type.shape != SHAPE:  # a constant broadcast it to rank 4: back to the chain's shape
            v = f.reshape(v, shape=list(SHAPE))
        if rng.random() < 0.2:
            outs.append(v)
    f.ret(*outs, v)
    return b.module


@pytest.mark.parametrize("seed", range(40))
def test_random_modules_keep_semantics(seed):
    module = random_module(seed)
    verify(module)
    x = np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)
    out = run_pipeline(module, "canonicalize")
    verify(out)
    before, after = interpret(module, [x]), interpret(out, [x])
    assert list(before) == list(after)  # same output names, same order
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert count_nodes(out) <= count_nodes(module)
    assert str(run_pipeline(out, "canonicalize")) == str(out)  # a fixpoint


def test_random_modules_do_simplify():
    """Guards against a vacuous oracle test: most random chains lose nodes."""
    shrunk = sum(count_nodes(run_pipeline(random_module(s), "canonicalize")) < count_nodes(random_module(s))
                 for s in range(40))
    assert shrunk >= 30


def test_returned_value_replaced_keeps_output_name():
    text = """module @m {
  param @one : tensor<4xf32> = dense<[1.0, 1.0, 1.0, 1.0]>
  func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
    %0 = exp(%x) : tensor<4xf32>
    %out = mul(%0, @one) : tensor<4xf32>
    %y = identity(%x) : tensor<4xf32>
    return %out, %y
  }
}"""
    module = parse_module(text)
    out = run_pipeline(module, "canonicalize")
    assert out.main.output_names == module.main.output_names == ["out", "y"]
    assert [n.op for n in out.main.nodes] == ["exp", "identity"]
    x = np.arange(4, dtype=np.float32)
    for name, value in interpret(module, [x]).items():
        np.testing.assert_array_equal(interpret(out, [x])[name], value)


@pytest.mark.parametrize("seed", range(20))
def test_transpose_chains_on_a_cube(seed):
    """Equal dims, so a wrongly composed perm still type-checks: only the interpreter can catch it."""
    rng = np.random.default_rng(seed)
    b = Builder("cube")
    f = b.function("main")
    v = f.arg("x", [3, 3, 3])
    for _ in range(int(rng.integers(2, 5))):
        v = f.transpose(v, perm=tuple(rng.permutation(3)))
    f.ret(f.neg(v))
    module = b.module
    out = run_pipeline(module, "canonicalize")
    assert [n.op for n in out.main.nodes].count("transpose") <= 1
    data = rng.standard_normal((3, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(interpret(out, {"x": data})["out0"], interpret(module, {"x": data})["out0"])
