"""Normalizations: layer, batch (inference), instance, group, RMS and local response (LRN)."""

from __future__ import annotations

import numpy as np

from ..types import Dim, TensorType
from .numerics import upcast
from .registry import BROADCAST, OPAQUE, REDUCE, Attr, op
from .shape_utils import fail, need_float, norm_axis, out_type, same_dtype

_EPS = {"epsilon": Attr("float", 1e-5)}


def _dims_match(a: Dim, b: Dim) -> bool:
    """False only when both sizes are known and differ: symbols may equal anything."""
    return not (isinstance(a, int) and isinstance(b, int) and a != b)


def _need_min_rank(x: TensorType, rank: int, layout: str) -> None:
    if x.rank < rank:
        fail(f"x must have rank >= {rank} ({layout}), got {x}")


def _check_broadcasts_to(param: TensorType | None, shape: tuple, what: str) -> None:
    """param (if given) must broadcast to `shape` without growing it."""
    if param is None:
        return
    if param.rank > len(shape) or not all(
            d == 1 or _dims_match(d, t) for d, t in zip(param.shape, shape[len(shape) - param.rank:])):
        fail(f"{what} shape {list(param.shape)} does not broadcast to the normalized shape {list(shape)}")


def _check_per_channel(x: TensorType, params: dict[str, TensorType]) -> None:
    """Every param must be a vector with one entry per channel (axis 1 of x)."""
    channels = x.shape[1]
    for what, param in params.items():
        need_float(param, what)
        if param.rank != 1 or not _dims_match(param.shape[0], channels):
            fail(f"{what} must have shape [{channels}] (one per channel of x {x}), got {list(param.shape)}")


def _per_channel(param: np.ndarray, rank: int) -> np.ndarray:
    """A length-C vector shaped to broadcast along axis 1 of a rank-`rank` tensor."""
    return upcast(np.asarray(param)).reshape((-1,) + (1,) * (rank - 2))


def _standardize(acc: np.ndarray, axes: tuple, epsilon: float) -> np.ndarray:
    mean = np.mean(acc, axis=axes, keepdims=True)
    centered = acc - mean
    return centered / np.sqrt(np.mean(centered * centered, axis=axes, keepdims=True) + epsilon)


def _scale_shift(y: np.ndarray, scale, bias) -> np.ndarray:
    y = y if scale is None else y * upcast(np.asarray(scale))
    return y if bias is None else y + upcast(np.asarray(bias))


def _trailing_norm_infer(x, scale=None, bias=None, *, axis, epsilon):
    need_float(x)
    axis = norm_axis(axis, x.rank)
    for what, param in (("scale", scale), ("bias", bias)):
        if param is not None:
            same_dtype(x, param)
            _check_broadcasts_to(param, x.shape[axis:], what)
    return out_type(x)


@op("layer_norm", operands="x, scale?, bias?", fusion=REDUCE, attrs={"axis": Attr("int", -1), **_EPS})
class LayerNorm:
    """Normalize x over axes [axis, rank) to zero mean and unit variance, then scale and shift."""

    infer = staticmethod(_trailing_norm_infer)

    @staticmethod
    def reference(x, scale=None, bias=None, *, axis, epsilon):
        axes = tuple(range(norm_axis(axis, x.ndim), x.ndim))
        return _scale_shift(_standardize(upcast(x), axes, epsilon), scale, bias).astype(x.dtype)


@op("rms_norm", operands="x, scale?", fusion=REDUCE, attrs={"axis": Attr("int", -1), "epsilon": Attr("float", 1e-6)})
class RMSNorm:
    """x / sqrt(mean(x * x) + epsilon) over axes [axis, rank), times scale."""

    @staticmethod
    def infer(x, scale=None, *, axis, epsilon):
        return _trailing_norm_infer(x, scale, axis=axis, epsilon=epsilon)

    @staticmethod
    def reference(x, scale=None, *, axis, epsilon):
        acc = upcast(x)
        axes = tuple(range(norm_axis(axis, x.ndim), x.ndim))
        y = acc / np.sqrt(np.mean(acc * acc, axis=axes, keepdims=True) + epsilon)
        return _scale_shift(y, scale, None).astype(x.dtype)


@op("batch_norm", operands="x, scale, bias, mean, var", fusion=BROADCAST, attrs=dict(_EPS))
class BatchNorm:
    """Inference batch norm on channel axis 1: (x - mean) / sqrt(var + epsilon) * scale + bias."""

    @staticmethod
    def infer(x, scale, bias, mean, var, *, epsilon):
        need_float(x)
        _need_min_rank(x, 2, "N, C, ...")
        # Like ONNX, the per-channel parameters may use another float type than x (mixed precision).
        _check_per_channel(x, {"scale": scale, "bias": bias, "mean": mean, "var": var})
        return out_type(x)

    @staticmethod
    def reference(x, scale, bias, mean, var, *, epsilon):
        scale, bias, mean, var = (_per_channel(p, x.ndim) for p in (scale, bias, mean, var))
        return ((upcast(x) - mean) / np.sqrt(var + epsilon) * scale + bias).astype(x.dtype)


def _channel_norm_infer(x, scale, bias, min_rank: int):
    need_float(x)
    _need_min_rank(x, min_rank, "N, C, ...")
    same_dtype(x, scale, bias)
    _check_per_channel(x, {"scale": scale, "bias": bias})
    return out_type(x)


@op("instance_norm", operands="x, scale, bias", fusion=REDUCE, attrs=dict(_EPS))
class InstanceNorm:
    """Normalize each (sample, channel) over the spatial axes, then apply per-channel scale and bias."""

    @staticmethod
    def infer(x, scale, bias, *, epsilon):
        return _channel_norm_infer(x, scale, bias, min_rank=3)

    @staticmethod
    def reference(x, scale, bias, *, epsilon):
        y = _standardize(upcast(x), tuple(range(2, x.ndim)), epsilon)
        return (y * _per_channel(scale, x.ndim) + _per_channel(bias, x.ndim)).astype(x.dtype)


@op("group_norm", operands="x, scale, bias", fusion=REDUCE,
    attrs={"num_groups": Attr("int"), **_EPS})
class GroupNorm:
    """Normalize each sample over groups of consecutive channels (and all spatial axes), then apply
    per-channel scale and bias (torch GroupNorm)."""

    @staticmethod
    def infer(x, scale, bias, *, num_groups, epsilon):
        out = _channel_norm_infer(x, scale, bias, min_rank=2)
        channels = x.shape[1]
        if num_groups < 1:
            fail(f"num_groups must be >= 1, got {num_groups}")
        if isinstance(channels, int) and channels % num_groups:
            fail(f"{channels} channels do not split into num_groups={num_groups} groups")
        return out

    @staticmethod
    def reference(x, scale, bias, *, num_groups, epsilon):
        grouped = upcast(x).reshape(x.shape[0], num_groups, -1)
        y = _standardize(grouped, (2,), epsilon).reshape(x.shape)
        return (y * _per_channel(scale, x.ndim) + _per_channel(bias, x.ndim)).astype(x.dtype)


@op("lrn", operands="x", fusion=OPAQUE, attrs={
    "size": Attr("int"), "alpha": Attr("float", 1e-4), "beta": Attr("float", 0.75), "bias": Attr("float", 1.0)})
class LRN:
    """Local response normalization across channels (ONNX LRN):
    x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels) ** beta."""

    @staticmethod
    def infer(x, *, size, alpha, beta, bias):
        need_float(x)
        _need_min_rank(x, 3, "N, C, D1, ...")
        if size < 1:
            fail(f"size must be >= 1, got {size}")
        return out_type(x)

    @staticmethod
    def reference(x, *, size, alpha, beta, bias):
        acc = upcast(x)
        channels = x.shape[1]
        before = (size - 1) // 2  # ONNX: window [c - floor((size-1)/2), c + ceil((size-1)/2)]
        pad = [(0, 0)] * x.ndim
        pad[1] = (before, size - 1 - before)
        squares = np.pad(acc * acc, pad)
        window = sum(squares[:, i:i + channels] for i in range(size))
        return (acc / (bias + alpha / size * window) ** beta).astype(x.dtype)
