"""TE compute for col2im as a gather: each image pixel sums the column entries of the kernel
offsets whose sliding block covers it (no scatter, so pixels are independent)."""

from __future__ import annotations

import math

from tvm import te, tirx

from .activation import guarded
from .registry import lowering


def _flat(idx, dims):
    """Row-major flat index of idx in a tensor of shape dims."""
    flat = idx[0]
    for i, d in zip(idx[1:], dims[1:]):
        flat = flat * d + i
    return flat


@lowering("col2im", rule="reduce")
def _col2im(ins, attrs, out_types):
    (x,) = ins
    image, block = list(attrs["image_shape"]), list(attrs["block_shape"])
    k = len(image)
    dil, stride = list(attrs["dilations"] or [1] * k), list(attrs["strides"] or [1] * k)
    pads = list(attrs["pads"] or [0] * (2 * k))
    blocks = [(image[i] + pads[i] + pads[i + k] - dil[i] * (block[i] - 1) - 1) // stride[i] + 1 for i in range(k)]
    offs = [te.reduce_axis((0, b), name=f"o{i}") for i, b in enumerate(block)]
    kernel = math.prod(block)

    def body(n, c, *p):
        # the block index along each axis is (padded position - offset * dilation) / stride
        span = [p[i] + pads[i] - offs[i] * dil[i] for i in range(k)]
        at = [tirx.floordiv(s, st) for s, st in zip(span, stride)]
        covered = [cond for i, (s, b) in enumerate(zip(span, at))
                   for cond in (s >= 0, tirx.floormod(s, stride[i]) == 0, b < blocks[i])]
        v = x(n, c * kernel + _flat(offs, block), _flat(at, blocks))
        # guarded, not a `where`: te.sum drops it, and the read is out of bounds where not covered
        return te.sum(guarded(tirx.all(*covered), v, tirx.const(0, x.dtype)), axis=offs)

    return te.compute(out_types[0].shape, body, name="col2im")
