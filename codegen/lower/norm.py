"""TE computes for normalizations: layer, RMS, batch (inference), instance, group and LRN. Statistics are
computed in >= float32 with two passes (mean, then mean of squared deviations), like the reference."""

from __future__ import annotations

import math

from tvm import te, tirx

from ...ir.ops.shape_utils import norm_axis
from .activation import convert, guarded, op_lowering, wide_dtype


def _mean_over(shape, extents, load, acc: str, name: str):
    """o -> mean over the reduce axes of load(o, reduce_vars), as an inline expression on a sum tensor."""
    rs = [te.reduce_axis((0, e), name=f"r{k}") for k, e in enumerate(extents)]
    total = te.compute(shape, lambda *o: te.sum(load(o, rs), axis=rs), name=name)
    n = tirx.const(math.prod(int(e) for e in extents), acc)
    return lambda o: total(*o) / n


def _standardize(shape, extents, load, acc: str, epsilon: float, name: str):
    """o -> (mean, 1 / std) builders: `normalized(o, v)` gives (v - mean) / sqrt(var + epsilon)."""
    mean = _mean_over(shape, extents, load, acc, f"{name}_mean")

    def sq_dev(o, r):
        d = load(o, r) - mean(o)
        return d * d

    var = _mean_over(shape, extents, sq_dev, acc, f"{name}_var")
    eps = tirx.const(epsilon, acc)
    return lambda o, v: (v - mean(o)) / tirx.sqrt(var(o) + eps)


def _wide(t, acc: str):
    return lambda *i: convert(t(*i), acc)


def _trailing(param, shape, idx, acc: str):
    """A scale/bias read at x's index: it broadcasts against x's trailing dims."""
    off = len(shape) - len(param.shape)
    return convert(param(*[0 if int(d) == 1 else idx[off + k] for k, d in enumerate(param.shape)]), acc)


def _scale_shift(y, idx, shape, scale, bias, acc):
    y = y if scale is None else y * _trailing(scale, shape, idx, acc)
    return y if bias is None else y + _trailing(bias, shape, idx, acc)


@op_lowering("layer_norm", rule="reduce")
def _layer_norm(ins, attrs, out_types):
    x, scale, bias = (list(ins) + [None, None])[:3]
    axis, acc = norm_axis(attrs["axis"], len(x.shape)), wide_dtype(x.dtype)
    xw = _wide(x, acc)
    norm = _standardize(x.shape[:axis], x.shape[axis:], lambda o, r: xw(*o, *r), acc, attrs["epsilon"], "ln")

    def body(*i):
        y = norm(i[:axis], xw(*i))
        return convert(_scale_shift(y, i, x.shape, scale, bias, acc), x.dtype)

    return te.compute(x.shape, body, name="layer_norm")


@op_lowering("rms_norm", rule="reduce")
def _rms_norm(ins, attrs, out_types):
    x, scale = (list(ins) + [None])[:2]
    axis, acc = norm_axis(attrs["axis"], len(x.shape)), wide_dtype(x.dtype)
    xw = _wide(x, acc)
    ms = _mean_over(x.shape[:axis], x.shape[axis:], lambda o, r: xw(*o, *r) * xw(*o, *r), acc, "rms_mean_sq")
    eps = tirx.const(attrs["epsilon"], acc)

    def body(*i):
        y = xw(*i) / tirx.sqrt(ms(i[:axis]) + eps)
        return convert(_scale_shift(y, i, x.shape, scale, None, acc), x.dtype)

    return te.compute(x.shape, body, name="rms_norm")


def _promote(*dtypes: str) -> str:
    """NumPy's promotion among the (widened) float dtypes here: float64 wins."""
    return "float64" if "float64" in dtypes else "float32"


@op_lowering("batch_norm")
def _batch_norm(ins, attrs, out_types):
    x, scale, bias, mean, var = ins
    wide = [wide_dtype(t.dtype) for t in ins]
    acc = _promote(*wide)
    ch = lambda t, w, i: convert(convert(t(i[1]), w), acc)  # per-channel parameter along axis 1
    eps = attrs["epsilon"]

    def body(*i):
        # like the reference, sqrt(var + epsilon) happens in var's own (widened) dtype
        std = convert(tirx.sqrt(convert(var(i[1]), wide[4]) + tirx.const(eps, wide[4])), acc)
        y = (convert(convert(x(*i), wide[0]), acc) - ch(mean, wide[3], i)) / std
        return convert(y * ch(scale, wide[1], i) + ch(bias, wide[2], i), x.dtype)

    return te.compute(x.shape, body, name="batch_norm")


def _per_channel_affine(x, scale, bias, acc, normalized, name: str):
    """out = normalized(i) * scale[c] + bias[c], cast back to x's dtype."""

    def body(*i):
        y = normalized(i) * convert(scale(i[1]), acc) + convert(bias(i[1]), acc)
        return convert(y, x.dtype)

    return te.compute(x.shape, body, name=name)


@op_lowering("instance_norm", rule="reduce")
def _instance_norm(ins, attrs, out_types):
    x, scale, bias = ins
    acc = wide_dtype(x.dtype)
    xw = _wide(x, acc)
    norm = _standardize(x.shape[:2], x.shape[2:], lambda o, r: xw(*o, *r), acc, attrs["epsilon"], "in")
    return _per_channel_affine(x, scale, bias, acc, lambda i: norm(i[:2], xw(*i)), "instance_norm")


@op_lowering("group_norm", rule="reduce")
def _group_norm(ins, attrs, out_types):
    x, scale, bias = ins
    acc, groups = wide_dtype(x.dtype), attrs["num_groups"]
    per = int(x.shape[1]) // groups  # consecutive channels per group
    xw = _wide(x, acc)
    load = lambda o, r: xw(o[0], o[1] * per + r[0], *r[1:])
    norm = _standardize((x.shape[0], groups), (per, *x.shape[2:]), load, acc, attrs["epsilon"], "gn")
    return _per_channel_affine(x, scale, bias, acc, lambda i: norm((i[0], i[1] // per), xw(*i)), "group_norm")


@op_lowering("lrn")
def _lrn(ins, attrs, out_types):
    (x,) = ins
    size, acc = attrs["size"], wide_dtype(x.dtype)
    channels, before = int(x.shape[1]), (attrs["size"] - 1) // 2  # ONNX's window, as in the reference
    xw = _wide(x, acc)
    zero = tirx.const(0, acc)

    def square(i, c):
        v = xw(i[0], c, *i[2:])
        return guarded(tirx.all(c >= 0, c < channels), v * v, zero)

    def body(*i):
        # summed in window order, like the reference's sum of shifted slices
        window = square(i, i[1] - before)
        for k in range(1, size):
            window = window + square(i, i[1] - before + k)
        base = tirx.const(attrs["bias"], acc) + tirx.const(attrs["alpha"] / size, acc) * window
        return convert(xw(*i) / tirx.power(base, tirx.const(attrs["beta"], acc)), x.dtype)

    return te.compute(x.shape, body, name="lrn")
