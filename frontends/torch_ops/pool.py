"""Pooling and upsampling: max/avg pools, adaptive average pools and nearest/linear resize."""

from __future__ import annotations

from torch.ops import aten

from .context import Ctx
from .linalg import _spatial
from .registry import converts


def _geometry(n: int, kernel, stride, padding) -> dict:
    kernel = _spatial(kernel, n)
    pads = _spatial(padding, n)
    return dict(kernel_shape=kernel, strides=_spatial(stride, n) if stride else kernel, pads=pads + pads)


@converts(aten.max_pool2d_with_indices, aten.max_pool3d_with_indices)
def max_pool(cx: Ctx, x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """Only the values: the indices result is for max_unpool, which kernforge lacks."""
    n = len(kernel_size)
    geom = _geometry(n, kernel_size, stride, padding)
    return cx.op("max_pool", x, dilations=_spatial(dilation, n), ceil_mode=bool(ceil_mode), **geom), None


@converts(aten.avg_pool2d, aten.avg_pool3d)
def avg_pool(cx: Ctx, x, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
    if divisor_override is not None:
        cx.fail("avg_pool with divisor_override is not supported")
    n = len(kernel_size)
    geom = _geometry(n, kernel_size, stride, padding)
    return cx.op("avg_pool", x, ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad), **geom)


@converts(aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d)
def adaptive_avg_pool(cx: Ctx, x, output_size):
    """Output 1 everywhere is a global pool; sizes dividing the input are a plain average pool."""
    if all(s == 1 for s in output_size):
        return cx.op("global_avg_pool", x)
    return cx.op("avg_pool", x, **_adaptive_windows(cx, x, output_size))


@converts(aten.adaptive_max_pool2d, aten.adaptive_max_pool3d)
def adaptive_max_pool(cx: Ctx, x, output_size):
    if all(s == 1 for s in output_size):
        return cx.op("global_max_pool", x), None
    return cx.op("max_pool", x, **_adaptive_windows(cx, x, output_size)), None


def _adaptive_windows(cx: Ctx, x, output_size) -> dict:
    """Adaptive pooling whose output size divides the input is a pool with equal windows."""
    sizes = list(output_size)
    spatial = cx.static(x.type.shape[2:], "adaptive pool input size")
    if any(d % s for d, s in zip(spatial, sizes)):
        cx.fail(f"adaptive pooling from {spatial} to {sizes} has uneven windows")
    kernel = [d // s for d, s in zip(spatial, sizes)]
    return dict(kernel_shape=kernel, strides=kernel)


def _resize(cx: Ctx, x, output_size, scale_factors, **attrs):
    if output_size is not None:
        sizes = [*x.type.shape[:2], *cx.static(output_size, "output size")]
        return cx.op("resize", x, sizes=cx.static(sizes, "resized shape"), **attrs)
    return cx.op("resize", x, scales=[1.0, 1.0, *map(float, scale_factors)], **attrs)


@converts(aten.upsample_nearest2d)
def upsample_nearest(cx: Ctx, x, output_size, scale_factors=None):
    """torch's nearest is floor(dst * in / out): ONNX asymmetric coordinates with floor rounding."""
    return _resize(cx, x, output_size, scale_factors, mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")


@converts(aten.upsample_bilinear2d)
def upsample_linear(cx: Ctx, x, output_size, align_corners, scale_factors=None):
    mode = "align_corners" if align_corners else "pytorch_half_pixel"
    return _resize(cx, x, output_size, scale_factors, mode="linear", coordinate_transformation_mode=mode)
