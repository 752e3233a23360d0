"""ReverseSequence: reverse the first seq_lens[b] steps of each batch entry (ONNX ReverseSequence)."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, out_type


@op("reverse_sequence", operands="x, seq_lens", fusion=OPAQUE,
    attrs={"batch_axis": Attr("int", 1), "time_axis": Attr("int", 0)})
class ReverseSequence:
    """x: [..] with a batch and a time axis (0 and 1 in some order); seq_lens: [batch] ints."""

    @staticmethod
    def infer(x, seq_lens, *, batch_axis, time_axis):
        if {batch_axis, time_axis} != {0, 1} or x.rank < 2:
            fail(f"batch_axis and time_axis must be 0 and 1 of a tensor of rank >= 2, got {batch_axis}, {time_axis}")
        if not seq_lens.dtype.is_int or seq_lens.rank != 1:
            fail(f"seq_lens must be a 1-D integer tensor, got {seq_lens}")
        return out_type(x)

    @staticmethod
    def reference(x, seq_lens, *, batch_axis, time_axis):
        y = np.moveaxis(x, (batch_axis, time_axis), (0, 1)).copy()
        for b, n in enumerate(seq_lens):
            y[b, :n] = y[b, :n][::-1]
        return np.moveaxis(y, (0, 1), (batch_axis, time_axis))
