"""Compiled clamps keep NaN like their NumPy references: LLVM's min/max return the other operand, and
TVM's simplifier folds `x != x` to false, so the lowerings test with isnan."""

import numpy as np
import pytest

import kernforge
from kernforge.ir import Builder, interpret


@pytest.mark.parametrize("op, attrs", [("clip", {"min": -448.0, "max": 448.0}), ("relu6", {}),
                                       ("hardtanh", {"min_val": -1.0, "max_val": 1.0})])
def test_clamps_keep_nan(op, attrs):
    b = Builder()
    f = b.function()
    f.ret(f.op(op, f.arg("x", [16]), **attrs))
    x = np.array([np.nan, 1.0, 1000.0, -1000.0] * 4, np.float32)
    ours, ref = kernforge.compile(b.module, opt_level=0)(x), interpret(b.module, [x])["out0"]
    assert np.isnan(ref[::4]).all()
    np.testing.assert_array_equal(ours, ref)
