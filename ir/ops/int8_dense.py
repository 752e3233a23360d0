"""int8_dense: W8A8, dense (x @ w.T + bias) with int8 weights (per output channel scales) and the input
rounded to int8 on a static per-tensor scale from calibration; products summed in int32."""

from __future__ import annotations

import numpy as np

from ..encodings import QuantEncoding
from ..types import TensorType
from .linalg import same_dim
from .registry import OUT_FUSABLE, REQUIRED, Attr, op
from .shape_utils import fail, need_float, need_rank, out_type


def round_to_int8(x: np.ndarray, scale: float) -> np.ndarray:
    """x / scale rounded half to even and clipped to +-127, in float32 (as the kernel does)."""
    return np.clip(np.rint(x.astype(np.float32) / np.float32(scale)), -127, 127).astype(np.int8)


@op("int8_dense", operands="x, w, w_scales, bias?", fusion=OUT_FUSABLE, attrs={"x_scale": Attr("float", REQUIRED)})
class Int8Dense:
    """(round_to_int8(x, x_scale) @ w.T) * x_scale * w_scales[n] + bias, the products in int32."""

    @staticmethod
    def infer(x: TensorType, w: TensorType, w_scales: TensorType, bias=None, *, x_scale):
        need_float(x, "input")
        need_rank(w, 2, "weight")
        if w.dtype.name != "i8":
            fail(f"the weight must be i8, got {w.dtype}")
        if w.encoding is not None and not isinstance(w.encoding, QuantEncoding):
            fail(f"the weight's encoding {w.encoding} is not #quant")
        same_dim(w.shape[1], x.shape[-1], "weight columns and input features differ")
        need_rank(w_scales, 1, "weight scales")
        same_dim(w_scales.shape[0], w.shape[0], "one weight scale per output row")
        if not x_scale > 0:
            fail(f"x_scale={x_scale} must be > 0")
        if bias is not None:
            need_rank(bias, 1, "bias")
            same_dim(bias.shape[0], w.shape[0], "bias size and weight rows differ")
        return out_type(x, (*x.shape[:-1], w.shape[0]))

    @staticmethod
    def reference(x, w, w_scales, bias=None, *, x_scale):
        dots = round_to_int8(x, x_scale).astype(np.int64) @ w.astype(np.int64).T
        y = dots * (np.float64(np.float32(x_scale)) * w_scales.astype(np.float64))
        return (y if bias is None else y + bias).astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 2 * result_types[0].numel * operand_types[0].shape[-1]
