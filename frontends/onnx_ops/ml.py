"""The ai.onnx.ml ops that are plain tensor math: Binarizer and ArrayFeatureExtractor."""

from __future__ import annotations

import numpy as np

from .node import NodeView
from .registry import converter

ML = "ai.onnx.ml"


@converter("Binarizer", domain=ML)
def binarizer(n: NodeView):
    dt = n.type(0).dtype.numpy
    above = n.op("greater", n.input(0), np.array(n.attr("threshold", 0.0), dt))
    return n.op("where", above, np.array(1, dt), np.array(0, dt))


@converter("ArrayFeatureExtractor", domain=ML)
def array_feature_extractor(n: NodeView):
    """Select entries of the last axis; a 1-D input is treated as one row."""
    x = n.input(0)
    if n.rank(0) == 1:
        x = n.op("unsqueeze", x, axes=[0])
    indices = n.op("reshape", n.input(1), shape=[-1])
    return n.op("gather", x, indices, axis=-1)

