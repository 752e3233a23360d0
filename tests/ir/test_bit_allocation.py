"""Mixed-precision bit allocation (ir/bit_allocation.py): budget parsing, the budget kept, and the
allocation beating uniform bits at the same average on layers of different sensitivity."""

import numpy as np
import pytest

from kernforge.errors import KernforgeError
from kernforge.ir.bit_allocation import Budget, allocate, average_bits, cost_bits
from kernforge.ir.quantization import WeightScheme, quantize_rtn


def layers():
    """Three layers, one small with an outlier per group (its grid is coarse at few bits) that
    gains much from more bits, cheaply."""
    rng = np.random.default_rng(0)
    outliers = rng.standard_normal((16, 256)).astype(np.float32)
    outliers[:, ::128] = 40.0
    return {"smooth": rng.standard_normal((64, 256)).astype(np.float32), "outliers": outliers,
            "small": rng.standard_normal((32, 128)).astype(np.float32) * 0.1}


def total_error(ws, bits_of):
    """The summed relative squared weight errors (the allocation's objective), computed here directly."""
    return sum(np.sum((quantize_rtn(w, WeightScheme(bits_of[n], 128)).dequantize() - w) ** 2) / np.sum(w**2)
               for n, w in ws.items())


@pytest.mark.parametrize("avg", [2.5, 3.1, 3.5, 4.5, 6.0, 8.5])
def test_allocation_keeps_the_budget(avg):
    choices = allocate(layers(), Budget(avg, 128))
    assert average_bits(choices, 128) <= avg + 1e-9


@pytest.mark.parametrize("bits", [3, 4])
def test_allocation_beats_uniform_bits_at_the_same_average(bits):
    ws = layers()
    choices = allocate(ws, Budget(cost_bits(bits, 128), 128))
    mixed = total_error(ws, {n: c.bits for n, c in choices.items()})
    uniform = total_error(ws, dict.fromkeys(ws, bits))
    assert mixed < uniform
    assert len({c.bits for c in choices.values()}) > 1  # it mixes


def test_budget_text():
    assert Budget.parse("w4g128") is None
    assert Budget.parse("auto:4.5") == Budget(4.5, 128)
    assert Budget.parse("auto:3g64") == Budget(3.0, 64)
    with pytest.raises(KernforgeError, match="expected auto"):
        Budget.parse("auto:lots")
    with pytest.raises(KernforgeError, match="below the smallest scheme"):
        Budget.parse("auto:2")


def test_calibrated_sensitivity_is_the_relative_output_error():
    ws = layers()
    rng = np.random.default_rng(1)
    xs = {n: rng.standard_normal((64, w.shape[1])) * np.linspace(0.1, 3, w.shape[1]) for n, w in ws.items()}
    choices = allocate(ws, Budget(4.5, 128), {n: x.T @ x for n, x in xs.items()})
    for n, c in choices.items():
        q = quantize_rtn(ws[n], WeightScheme(c.bits, 128)).dequantize()
        want = np.linalg.norm(xs[n] @ (q - ws[n]).T) ** 2 / np.linalg.norm(xs[n] @ ws[n].T) ** 2
        assert c.error == pytest.approx(want, rel=1e-6)
