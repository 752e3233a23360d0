"""Col2Im: sum sliding blocks (im2col columns) back into an image (ONNX Col2Im)."""

from __future__ import annotations

import itertools

import numpy as np

from .registry import OPAQUE, Attr, op
from .shape_utils import fail, out_type


def _blocks(image, block, dilations, pads, strides) -> list[int]:
    k = len(image)
    return [(image[i] + pads[i] + pads[i + k] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
            for i in range(k)]


@op("col2im", operands="x", fusion=OPAQUE, attrs={
    "image_shape": Attr("ints"), "block_shape": Attr("ints"), "dilations": Attr("ints", None),
    "pads": Attr("ints", None), "strides": Attr("ints", None)})
class Col2Im:
    """x: [N, C * prod(block_shape), L] with L sliding blocks -> [N, C, *image_shape]."""

    @staticmethod
    def infer(x, *, image_shape, block_shape, dilations, pads, strides):
        k, kernel = len(image_shape), int(np.prod(block_shape))
        if x.rank != 3 or len(block_shape) != k:
            fail(f"expected x [N, C*K, L] and block_shape of {k} dims, got {x} and {list(block_shape)}")
        channels = x.shape[1] // kernel if isinstance(x.shape[1], int) else None
        if isinstance(x.shape[1], int) and x.shape[1] % kernel:
            fail(f"dim 1 of {x} is not a multiple of the block size {kernel}")
        return out_type(x, (x.shape[0], channels, *image_shape))

    @staticmethod
    def reference(x, *, image_shape, block_shape, dilations, pads, strides):
        k = len(image_shape)
        dilations, strides = dilations or [1] * k, strides or [1] * k
        pads = pads or [0] * (2 * k)
        blocks = _blocks(image_shape, block_shape, dilations, pads, strides)
        n, c = x.shape[0], x.shape[1] // int(np.prod(block_shape))
        padded = np.zeros((n, c, *[image_shape[i] + pads[i] + pads[i + k] for i in range(k)]), x.dtype)
        cols = x.reshape(n, c, *block_shape, *blocks)
        for offset in itertools.product(*[range(b) for b in block_shape]):
            where = tuple(slice(o * d, o * d + (nb - 1) * s + 1, s)
                          for o, d, nb, s in zip(offset, dilations, blocks, strides))
            padded[(slice(None), slice(None)) + where] += cols[(slice(None), slice(None)) + offset]
        return padded[(slice(None), slice(None)) + tuple(slice(pads[i], pads[i] + image_shape[i]) for i in range(k))]
