"""TE computes for quantize_linear / dequantize_linear: per-tensor, per-axis and blocked scales and
zero points, float32 math as the reference, round half to even, saturation to the result range."""

from __future__ import annotations

from tvm import te, tirx

from ..dtypes import tvm_dtype
from .activation import clamp, convert
from .fp8 import FORMATS, f8_to_f32, f32_to_f8
from .linalg import expr_dtype
from .registry import lowering


def _param_at(p: te.Tensor, idx, axis: int, block_size: int):
    """A scale or zero point read for element idx of x: per tensor, per axis or per block."""
    if block_size:
        return p(*[i // block_size if d == axis else i for d, i in enumerate(idx)])
    if all(int(d) == 1 for d in p.shape):
        return p(*[0] * len(p.shape))
    return p(idx[axis])


def _axis(attrs, rank: int) -> int:
    return attrs["axis"] % rank if rank else 0


@lowering("quantize_linear")
def _quantize(ins, attrs, out_types):
    x, scale = ins[:2]
    zero = ins[2] if len(ins) > 2 else None
    out = out_types[0].dtype
    axis, bs = _axis(attrs, len(x.shape)), attrs["block_size"]
    f32 = "float32"

    def f(*i):
        y = x(*i).astype(f32) / _param_at(scale, i, axis, bs).astype(f32)
        y = y if out.is_float else tirx.nearbyint(y)  # half to even under the default rounding mode
        if zero is not None:
            y = y + convert(_param_at(zero, i, axis, bs), f32)  # an fp8 zero point needs the exact widening
        if attrs["saturate"] or not out.is_float:
            y = clamp(y, tirx.const(float(out.min), f32), tirx.const(float(out.max), f32))
        dt = tvm_dtype(out)
        return f32_to_f8(y, dt) if dt in FORMATS else y.astype(dt)

    return te.compute(x.shape, f, name="quantize")


@lowering("dequantize_linear")
def _dequantize(ins, attrs, out_types):
    x, scale = ins[:2]
    zero = ins[2] if len(ins) > 2 else None
    axis, bs = _axis(attrs, len(x.shape)), attrs["block_size"]
    # Subtract in int64 (float32 for fp8) so that i32 inputs stay exact, then scale in float32.
    wide = "float32" if str(x.dtype).startswith("float") else "int64"

    def f(*i):
        y = _widen(x(*i), wide)
        if zero is not None:
            y = y - _widen(_param_at(zero, i, axis, bs), wide)
        return (y.astype("float32") * _param_at(scale, i, axis, bs).astype("float32")).astype(str(scale.dtype))

    return te.compute(x.shape, f, name="dequantize")


def _widen(v, dt: str):
    src = expr_dtype(v)
    return f8_to_f32(v, src) if src in FORMATS else v.astype(dt)
