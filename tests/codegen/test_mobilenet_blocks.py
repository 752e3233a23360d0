"""The suite's MobileNetV2 at -O3: its inverted-residual blocks compile to line-buffer kernels over
NCHW8c maps, and the whole model still matches onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")  # the model is defined in torch and exported once to ONNX
ort = pytest.importorskip("onnxruntime")

import kernforge  # noqa: E402
from kernforge.benchmarks.models import SUITE  # noqa: E402


def test_mobilenet_v2_blocks_match_onnxruntime():
    bench = SUITE["mobilenetv2"]()
    cm = kernforge.compile(bench.onnx_path, opt_level=3)
    rules = [k["rule"] for k in cm.executor.plan.kernels.values()]
    # 56x56x144, 2 x 28x28x192, 4 x 14x14x384, 2 x 14x14x576: the expanded maps over 256 KiB
    assert sum(cm.executor.plan.kernels[s.kernel]["rule"] == "line_block" for s in cm.executor.plan.steps) == 9, rules
    (ours,) = cm.run(bench.inputs).values()
    session = ort.InferenceSession(bench.onnx_path, providers=["CPUExecutionProvider"])
    (ref,) = session.run(None, dict(zip([i.name for i in session.get_inputs()], bench.inputs)))
    # float32 logits after 52 convs summed in other orders: rounding, as for the suite's check
    np.testing.assert_allclose(ours, ref, rtol=bench.rtol, atol=bench.atol)
