"""Output-error sensitivities for mixed-precision allocation: how much rounding one layer's weight to
b bits (the others left float) changes the model's outputs on calibration inputs.

A layer's own output error (the Hessian proxy of ir/bit_allocation.py) ignores where the layer sits:
an error in the LM head reaches the logits whole, one inside a residual block is diluted by the
stream. Measured end to end, the per-layer errors add up to about the error of quantizing them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..ir.graph import Module, Node, Param
from ..ir.interpreter import interpret
from ..ir.quantization import BITS, WeightScheme, quantize_rtn
from .linear_weights import dense_weight

SAMPLES = 2  # calibration input sets per measurement: each (layer, width) costs one model run per set


def output_errors(module: Module, nodes: Sequence[Node], group: int, calibration: Sequence,
                  progress: Callable[[], None] | None = None) -> dict[int, list[float]]:
    """id(node) -> the model's relative squared output error with only that node's weight rounded to
    each of BITS (in order), summed over the first SAMPLES calibration input sets."""
    samples = list(calibration)[:SAMPLES]
    reference = [_outputs(module, s) for s in samples]
    errors = {}
    for node in nodes:
        lw, original = dense_weight(node), node.operands[1]
        row = []
        for bits in BITS:
            rounded = quantize_rtn(lw.weight, WeightScheme(bits, group)).dequantize().astype(np.float32)
            node.operands[1] = Param(original.name, original.type, lw.stored(rounded))
            try:
                row.append(_relative_sq_error([_outputs(module, s) for s in samples], reference))
            finally:
                node.operands[1] = original
            if progress is not None:
                progress()
        errors[id(node)] = row
    return errors


def _outputs(module: Module, inputs) -> list[np.ndarray]:
    return [np.asarray(v, np.float64) for v in interpret(module, inputs).values()]


def _relative_sq_error(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> float:
    num = sum(float(np.sum((g - w) ** 2)) for gs, ws in zip(got, want) for g, w in zip(gs, ws))
    den = sum(float(np.sum(w**2)) for ws in want for w in ws)
    return num / max(den, 1e-30)
