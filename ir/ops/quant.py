"""Linear (de)quantization with ONNX opset-21 QuantizeLinear / DequantizeLinear semantics:
per-tensor, per-axis and blocked scales; 4-, 8- and 16-bit ints and fp8."""

from __future__ import annotations

import numpy as np

from ..types import DTYPES, TensorType
from ..types import dtype as to_dtype
from .linalg import same_dim
from .registry import BROADCAST, Attr, op
from .shape_utils import fail, need_float, norm_axis, out_type, same_dtype

QUANT_DTYPES = ("u8", "i8", "u16", "i16", "u4", "i4", "f8e4m3", "f8e5m2")
_PARAMS = {"axis": Attr("int", 1), "block_size": Attr("int", 0)}


def _check_params(x: TensorType, scale: TensorType, zero: TensorType | None, axis: int, block_size: int) -> None:
    """scale is a scalar (per tensor), 1-D over x's axis (per axis) or x's shape with the axis
    cut into blocks (blocked); the zero point has the scale's shape."""
    if zero is not None and zero.shape != scale.shape:
        fail(f"zero point shape {list(zero.shape)} differs from scale shape {list(scale.shape)}")
    if block_size < 0:
        fail(f"block_size must be >= 0, got {block_size}")
    if not block_size and (scale.rank == 0 or scale.shape == (1,)):
        return
    ax = norm_axis(axis, x.rank)
    if not block_size:
        if scale.rank != 1:
            fail(f"a per-axis scale must be 1-D, got {scale}")
        same_dim(scale.shape[0], x.shape[ax], f"scale size and input dim {ax} differ")
        return
    if scale.rank != x.rank:
        fail(f"a blocked scale must have the input's rank {x.rank}, got {scale}")
    for i, (s, d) in enumerate(zip(scale.shape, x.shape)):
        want = -(-d // block_size) if i == ax and isinstance(d, int) else (None if i == ax else d)
        same_dim(s, want, f"blocked scale dim {i} does not fit input dim {d} with block_size {block_size}")


def broadcast_params(p: np.ndarray, shape: tuple, axis: int, block_size: int) -> np.ndarray:
    """Broadcast a scale or zero point against the input, per tensor, axis or block."""
    axis = axis % len(shape) if shape else 0
    if block_size:
        return np.repeat(p, block_size, axis=axis)[(slice(None),) * axis + (slice(0, shape[axis]),)]
    if p.size == 1:
        return p.reshape(())
    return p.reshape([-1 if i == axis else 1 for i in range(len(shape))])


@op("quantize_linear", operands="x, scale, zero_point?", fusion=BROADCAST,
    attrs={**_PARAMS, "dtype": Attr("dtype", None), "saturate": Attr("bool", True)})
class QuantizeLinear:
    """saturate(round_half_even(x / scale) + zero_point) in the result dtype (the dtype attribute,
    else the zero point's, else u8); fp8 results skip rounding and clamp only if saturate."""

    @staticmethod
    def infer(x, scale, zero_point=None, *, axis, block_size, dtype, saturate):
        need_float(x, "input")
        same_dtype(x, scale)
        _check_params(x, scale, zero_point, axis, block_size)
        zdt = zero_point.dtype if zero_point is not None else None
        if dtype is not None and zdt is not None and dtype != zdt:
            fail(f"dtype {dtype} differs from the zero point dtype {zdt}")
        out = dtype or zdt or DTYPES["u8"]
        if out.name not in QUANT_DTYPES:
            fail(f"cannot quantize to {out}; supported: {', '.join(QUANT_DTYPES)}")
        return out_type(x, dt=out)

    @staticmethod
    def reference(x, scale, zero_point=None, *, axis, block_size, dtype, saturate):
        out = dtype or (to_dtype(zero_point.dtype) if zero_point is not None else DTYPES["u8"])
        # float32 math as ONNX Runtime; rint rounds half to even.
        y = x.astype(np.float32) / broadcast_params(scale.astype(np.float32), x.shape, axis, block_size)
        y = y if out.is_float else np.rint(y)
        if zero_point is not None:
            y = y + broadcast_params(zero_point.astype(np.float32), x.shape, axis, block_size)
        if saturate or not out.is_float:
            y = np.clip(y, out.min, out.max)
        return y.astype(out.numpy)


@op("dequantize_linear", operands="x, scale, zero_point?", fusion=BROADCAST, attrs=dict(_PARAMS))
class DequantizeLinear:
    """(x - zero_point) * scale in the scale's dtype."""

    @staticmethod
    def infer(x, scale, zero_point=None, *, axis, block_size):
        if x.dtype.name not in (*QUANT_DTYPES, "i32"):
            fail(f"cannot dequantize {x.dtype}; supported: {', '.join(QUANT_DTYPES)}, i32")
        need_float(scale, "scale")
        if zero_point is not None:
            same_dtype(x, zero_point)
        _check_params(x, scale, zero_point, axis, block_size)
        return out_type(x, dt=scale.dtype)

    @staticmethod
    def reference(x, scale, zero_point=None, *, axis, block_size):
        wide = np.float32 if to_dtype(x.dtype).is_float else np.int64
        y = x.astype(wide)
        if zero_point is not None:  # subtract in int64 so that i32 inputs stay exact
            y = y - broadcast_params(zero_point.astype(wide), x.shape, axis, block_size)
        scales = broadcast_params(scale.astype(np.float32), x.shape, axis, block_size)
        return (y.astype(np.float32) * scales).astype(scale.dtype)
