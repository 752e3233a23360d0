"""The vectorizable float32 exp and tanh polynomials against float64 NumPy, in ulp, over their whole
range: huge, tiny, negative, around the series/exp switch of tanh, and past exp's overflow."""

import numpy as np
import pytest

import kernforge
from kernforge.ir import Builder


def _compiled(op: str, n: int):
    b = Builder()
    f = b.function()
    f.ret(f.op(op, f.arg("x", [n])))
    return kernforge.compile(b.module)


def _samples(lo: float, hi: float) -> np.ndarray:
    tiny = np.geomspace(1e-30, 0.5, 1 << 14)
    x = np.concatenate([np.linspace(lo, hi, 1 << 15), tiny, -tiny, [0.0, 0.0625, -0.0625, 0.06251802]])
    return x.astype(np.float32)


# Cephes expf is within 2 ulp; tanh = (1 - e) / (1 + e) adds the division's and the subtraction's rounding.
@pytest.mark.parametrize("op, fn, lo, hi, max_ulp", [
    ("exp", np.exp, -87.3, 88.3, 2.0),
    ("tanh", np.tanh, -30.0, 30.0, 5.0),
])
def test_polynomial_is_within_a_few_ulp(op, fn, lo, hi, max_ulp):
    x = _samples(lo, hi)
    y = _compiled(op, x.size)(x).astype(np.float64)
    ref = fn(x.astype(np.float64))
    spacing = np.spacing(np.maximum(np.abs(ref), np.finfo(np.float32).tiny).astype(np.float32))
    ulp = np.abs(y - ref) / spacing
    assert ulp.max() <= max_ulp, (x[ulp.argmax()], ulp.max())


def test_exp_saturates():
    """Past float32's normal range: inf above, and 0 below where expf would give a subnormal."""
    x = np.array([-200.0, -88.0, 89.0, 200.0, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(_compiled("exp", x.size)(x), [0, 0, np.inf, np.inf, np.inf, 0])
