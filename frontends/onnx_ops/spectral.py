"""Spectral ops: DFT, and STFT composed of framing (a gather), windowing and a DFT."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter


@converter("DFT", since=17)
def dft(n: NodeView):
    """Opset 17 takes the axis as an attribute (default 1), opset 20 as input 2 (default -2)."""
    inverse, onesided = bool(n.attr("inverse", 0)), bool(n.attr("onesided", 0))
    axis = n.attr("axis", 1) if n.opset < 20 else int(n.const(2, -2).reshape(-1)[0])
    axis %= n.rank(0)
    length = n.const(1)
    if length is None or length.size == 0:
        size = n.static_shape(0)[axis]
        length = 2 * (size - 1) if inverse and onesided else size
    return n.op("dft", n.input(0), axis=axis, length=int(np.asarray(length).reshape(-1)[0]), inverse=inverse,
                onesided=onesided)


@converter("STFT", since=17)
def stft(n: NodeView):
    """x: [batch, signal, 1|2] -> [batch, frames, bins, 2]."""
    step = int(n.const(1).reshape(-1)[0])
    signal = n.static_shape(0)[1]
    window = n.input(2)
    frame = n.const(3)
    frame = int(frame.reshape(-1)[0]) if frame is not None else (n.static_shape(2)[0] if window is not None else signal)
    frames = 1 + (signal - frame) // step
    index = (np.arange(frames)[:, None] * step + np.arange(frame)[None, :]).astype(np.int64)
    framed = n.op("gather", n.input(0), index, axis=1)  # [batch, frames, frame, 1|2]
    if window is not None:
        framed = n.op("mul", framed, n.op("reshape", window, shape=[1, 1, frame, 1]))
    return n.op("dft", framed, axis=2, length=frame, onesided=bool(n.attr("onesided", 1)))
