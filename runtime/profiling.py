"""Timing helpers: interleaved side-by-side medians, robust to a noisy shared host."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np


def interleaved_medians(fns: Sequence[Callable[[], object]], n: int, warmup: int = 2) -> list[float]:
    """Median milliseconds of each fn, run in turn n times so drift hits every side alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return [float(np.median(t)) for t in times]


def ort_feed(session, inputs: dict) -> dict:
    """Inputs keyed by onnxruntime's names: kernforge sanitizes ONNX names but keeps their order."""
    return {i.name: v for i, v in zip(session.get_inputs(), inputs.values())}
