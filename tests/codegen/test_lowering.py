"""Every op test case of tests/ir/ops, compiled for the host CPU, matches the interpreter."""

import functools

import pytest

from kernforge.codegen.lower import LOWERINGS
from kernforge.ir.ops import OPS

from ..ir.ops.harness import ids
from .harness import assert_close, compile_cases, family_cases, op_case_modules

PARAMS = [(fam, cid, case) for fam in op_case_modules()
          for cid, case in zip(ids(family_cases(fam)), family_cases(fam))]


@functools.cache
def _compiled(family: str):
    return compile_cases(family_cases(family))


@pytest.mark.parametrize("family, cid, case", PARAMS, ids=[f"{f}:{c}" for f, c, _ in PARAMS])
def test_compiled_op_matches_interpreter(family, cid, case):
    ours, ref, names = _compiled(family)
    for name in names[cid]:
        assert_close(ours[name], ref[name], case, f"{cid}/{name}")


def test_every_op_has_a_lowering():
    # `fused` is lowered by composing its region's ops (codegen/kernel.py), not by a compute of its own.
    missing = sorted(set(OPS) - set(LOWERINGS) - {"fused"})
    assert not missing, f"ops without a TVM lowering: {missing}"
