"""Loads that are out of bounds where unused sit under if_then_else, never under a Select: Select
evaluates both sides, and TVM's simplifier drops an index clamp under a Select's condition. That
once made inception's concat read before its operands and crash the process."""

import numpy as np
import pytest

import kernforge
from kernforge.ir import interpret

from .test_schedules_cpu import build, scheduled


def loads_under_select(func) -> list[str]:
    """The Select expressions of a function's TVMScript that read a buffer (`name[...]`)."""
    text, found, at = func.script(), [], 0
    while (at := text.find("T.Select(", at)) >= 0:
        depth, end = 0, at
        for end in range(at + len("T.Select"), len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        found += [text[at:end + 1]] if "[" in text[at:end] else []
        at = end
    return found


CASES = [
    ("concat", [(1, 64, 27, 27), (1, 128, 27, 27), (1, 32, 27, 27)], {"axis": 1}),
    ("pad", [(1, 3, 13, 13)], {"pads": [0, 0, 2, 1, 0, 0, 1, 2], "mode": "constant", "value": 0.0}),
    ("lrn", [(1, 10, 7, 7)], {"size": 5}),
]


@pytest.mark.parametrize("op, shapes, attrs", CASES, ids=[c[0] for c in CASES])
def test_loads_that_may_be_out_of_bounds_are_guarded(op, shapes, attrs):
    assert loads_under_select(scheduled(op, shapes, attrs)) == []


@pytest.mark.parametrize("op, shapes, attrs", CASES, ids=[c[0] for c in CASES])
def test_guarded_kernels_match_the_interpreter(op, shapes, attrs):
    module = build(op, shapes, attrs)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    (got,) = kernforge.compile(module, opt_level=0).run(xs).values()
    (want,) = interpret(module, xs).values()
    np.testing.assert_array_equal(got, want) if op != "lrn" else np.testing.assert_allclose(got, want, rtol=1e-5)
