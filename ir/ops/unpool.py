"""MaxUnpool: scatter pooled values back to the positions MaxPool took them from (ONNX MaxUnpool)."""

from __future__ import annotations

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, out_type


def unpooled_shape(shape, kernel_shape, strides, pads) -> list:
    k = len(kernel_shape)
    spatial = [(d - 1) * s + kk - pads[i] - pads[i + k] if isinstance(d, int) else None
               for i, (d, s, kk) in enumerate(zip(shape[2:], strides, kernel_shape))]
    return list(shape[:2]) + spatial


@op("max_unpool", operands="x, indices", fusion=OPAQUE, attrs={
    "kernel_shape": Attr("ints"), "strides": Attr("ints", None), "pads": Attr("ints", None),
    "output_shape": Attr("ints", None)})
class MaxUnpool:
    """Zeros of the unpooled shape with x placed at its flat MaxPool indices; an explicit
    output_shape pads that block with zeros at the end of each dim."""

    @staticmethod
    def infer(x, indices, *, kernel_shape, strides, pads, output_shape):
        k = len(kernel_shape)
        if x.rank != k + 2 or indices.shape != x.shape or not indices.dtype.is_int:
            fail(f"expected x [N, C, *spatial({k})] and integer indices of the same shape, got {x}, {indices}")
        if output_shape is not None:
            return out_type(x, output_shape)
        return out_type(x, unpooled_shape(x.shape, kernel_shape, strides or [1] * k, pads or [0] * (2 * k)))

    @staticmethod
    def reference(x, indices, *, kernel_shape, strides, pads, output_shape):
        k = len(kernel_shape)
        inferred = unpooled_shape(x.shape, kernel_shape, strides or [1] * k, pads or [0] * (2 * k))
        y = np.zeros(int(np.prod(inferred)), x.dtype)
        y[indices.reshape(-1)] = x.reshape(-1)
        if output_shape is None:
            return y.reshape(inferred)
        out = np.zeros(output_shape, x.dtype)  # as ONNX: the unpooled block sits at the origin
        out[tuple(slice(0, d) for d in inferred)] = y.reshape(inferred)
        return out
