"""Mixed-precision bit allocation: one weight scheme per layer, minimizing the summed quantization
error within an average-bits budget (scheme text: auto:<bits>[g<group>], e.g. auto:4.5).

A layer's sensitivity at b bits is the relative squared error round-to-nearest adds to its output:
measured with the Hessian X^T X of its calibration inputs when there are some, else the weights'
own relative error (an identity Hessian). Bits are counted with the group scales and
offsets (w4g128 costs 4.5 bits per weight). The allocation is the exact least-error choice within
the budget (a multiple-choice knapsack over the layers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError
from .quantization import BITS as CANDIDATE_BITS
from .quantization import WeightScheme, quantize_rtn

_AUTO = re.compile(r"auto:(?P<avg>\d+(?:\.\d+)?)(?:g(?P<group>\d+))?")


@dataclass(frozen=True)
class Budget:
    """Average bits per weight (scales and offsets included) and the group size of every layer."""

    average_bits: float
    group: int = 128

    @staticmethod
    def parse(text: str) -> Budget | None:
        """auto:4.5 or auto:3.5g64; None for a uniform scheme such as w4g128."""
        if not text.startswith("auto"):
            return None
        m = _AUTO.fullmatch(text.strip())
        if m is None:
            raise KernforgeError(f"bad mixed-precision scheme '{text}'; expected auto:<average bits>[g<group>], "
                                 "e.g. auto:4.5")
        budget = Budget(float(m["avg"]), int(m["group"] or 128))
        WeightScheme(8, budget.group)  # validates the group
        if budget.average_bits < cost_bits(CANDIDATE_BITS[0], budget.group):
            raise KernforgeError(f"{text}: {budget.average_bits} bits per weight is below the smallest scheme "
                                 f"({cost_bits(CANDIDATE_BITS[0], budget.group)} bits with its scales)")
        return budget


def cost_bits(bits: int, group: int) -> float:
    """Bits per weight of a scheme: the code plus a float32 scale and offset per group."""
    return bits + 64 / group


@dataclass
class Choice:
    name: str
    shape: tuple
    bits: int
    error: float


def allocate(weights: dict[str, np.ndarray], budget: Budget, hessians: dict[str, np.ndarray] | None = None,
             resolution: int = 2000, measured: dict[str, list[float]] | None = None) -> dict[str, Choice]:
    """A bit width per [N, K] weight, by name: the least total error whose bits fit the budget (a
    multiple-choice knapsack, costs rounded up to 1/resolution of the budget, so never over it).
    With hessians (X^T X of each layer's calibration inputs) the error is the layer's output error;
    `measured` gives each layer's error per CANDIDATE_BITS width directly (e.g. the model's output error)."""
    names = list(weights)
    h = hessians or {}
    errors = np.array([measured[n] if measured else [_sq_error(weights[n], b, budget.group, h.get(n))
                                                     for b in CANDIDATE_BITS] for n in names])
    unit = budget.average_bits * sum(w.size for w in weights.values()) / resolution
    costs = np.array([[int(np.ceil(weights[n].size * cost_bits(b, budget.group) / unit - 1e-9))
                       for b in CANDIDATE_BITS] for n in names])
    cap = resolution + len(names)  # each layer's cost rounds up by under one unit
    best = np.zeros(cap + 1)  # best[c]: least error of the layers so far within cost c
    picks = []
    for err, cost in zip(errors, costs):
        options = np.full((len(CANDIDATE_BITS), cap + 1), np.inf)
        for i, (e, c) in enumerate(zip(err, cost)):
            if c <= cap:
                options[i, c:] = best[:cap + 1 - c] + e
        picks.append(options.argmin(axis=0))
        best = options.min(axis=0)
    for c in range(cap, -1, -1):  # the cheapest rounding slack that is within the exact budget
        if np.isfinite(best[c]):
            choices = _trace(names, picks, costs, c, weights, errors)
            if average_bits(choices, budget.group) <= budget.average_bits + 1e-9:
                return choices
    raise KernforgeError(f"no bit allocation fits {budget.average_bits} bits per weight")


def _trace(names, picks, costs, c: int, weights, errors) -> dict[str, Choice]:
    level = {}
    for n, pick, cost in reversed(list(zip(names, picks, costs))):
        level[n] = int(pick[c])
        c -= cost[level[n]]
    return {n: Choice(n, weights[n].shape, CANDIDATE_BITS[level[n]], float(errors[k][level[n]]))
            for k, n in enumerate(names)}


def _sq_error(w: np.ndarray, bits: int, group: int, hessian: np.ndarray | None = None) -> float:
    """The relative squared error the layer adds to its output: tr(D H D^T) / tr(W H W^T) for the
    weight error D and the calibration inputs' H = X^T X; without H, the identity (weights alone).
    Relative, because the residual stream sums the layers' relative errors whatever their sizes."""
    d = quantize_rtn(w, WeightScheme(bits, group)).dequantize().astype(np.float64) - w
    w64 = w.astype(np.float64)
    if hessian is None:
        return float(np.sum(d**2) / max(np.sum(w64**2), 1e-30))
    return float(np.sum((d @ hessian) * d) / max(np.sum((w64 @ hessian) * w64), 1e-30))


def average_bits(choices: dict[str, Choice], group: int) -> float:
    sizes = {n: int(np.prod(c.shape)) for n, c in choices.items()}
    return sum(sizes[n] * cost_bits(c.bits, group) for n, c in choices.items()) / max(1, sum(sizes.values()))


def format_table(choices: dict[str, Choice], group: int) -> str:
    lines = [f"{'weight':<28}{'shape':>14}{'bits':>6}{'rel. error':>12}"]
    for c in choices.values():
        lines.append(f"{'@' + c.name:<28}{'x'.join(map(str, c.shape)):>14}{c.bits:>6}{c.error:>12.4g}")
    lines.append(f"average {average_bits(choices, group):.3f} bits per weight (scales and offsets included)")
    return "\n".join(lines)
