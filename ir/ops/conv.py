"""Convolutions on NC[D]HW tensors with ONNX Conv / ConvTranspose semantics: conv1d/2d/3d and
conv_transpose1d/2d/3d, each family registered from one generic implementation. The window
helpers here are shared with pool.py."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..types import Dim, TensorType
from .linalg import present, same_dim, size_or_one
from .numerics import upcast
from .registry import OUT_FUSABLE, Attr, OpDef, register
from .shape_utils import fail, need_float, need_rank, out_type, same_dtype


def check_spatial_attrs(n: int, **attrs: Sequence[int]) -> None:
    """Each spatial attribute has n entries (pads: 2n, ONNX order [begin..., end...])."""
    for name, value in attrs.items():
        want = 2 * n if name == "pads" else n
        if len(value) != want:
            fail(f"{name} must have {want} entries for {n} spatial dims, got {list(value)}")
        if name in ("strides", "dilations", "kernel_shape") and min(value, default=1) < 1:
            fail(f"{name} must be >= 1, got {list(value)}")


def window_count(size: Dim, k: int, s: int, pb: int, pe: int, d: int = 1, ceil: bool = False) -> Dim:
    """Number of sliding windows along one padded axis (None unless size is static)."""
    if not isinstance(size, int):
        return None
    span = size + pb + pe - (d * (k - 1) + 1)
    if span < 0:
        fail(f"window of {k} (dilation {d}) is larger than the padded size {size + pb + pe}")
    out = -(-span // s) + 1 if ceil else span // s + 1
    # ceil_mode: a window must start inside the input or its begin padding (as ONNX Runtime and torch).
    return out - 1 if ceil and (out - 1) * s >= size + pb else out


def pad_spatial(x: np.ndarray, pads: Sequence[int], value: float = 0) -> np.ndarray:
    """Pad (or, for negative pads, crop) the spatial axes of x [N, C, *spatial]."""
    n = len(pads) // 2
    widths = [(0, 0)] * 2 + [(max(0, b), max(0, e)) for b, e in zip(pads[:n], pads[n:])]
    y = np.pad(x, widths, constant_values=value) if any(map(any, widths)) else x
    crop = tuple(slice(max(0, -b), y.shape[2 + i] - max(0, -e)) for i, (b, e) in enumerate(zip(pads[:n], pads[n:])))
    return y[(slice(None), slice(None), *crop)]


def windows(x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
            counts: Sequence[int] | None = None) -> np.ndarray:
    """A no-copy view of x [N, C, *spatial] as [N, C, *out, *kernel] windows."""
    n = len(kernel)
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    v = sliding_window_view(x, eff, axis=tuple(range(2, 2 + n)))
    counts = counts or [None] * n
    outer = [slice(0, None if c is None else (c - 1) * s + 1, s) for c, s in zip(counts, strides)]
    return v[(slice(None), slice(None), *outer, *[slice(None, None, d) for d in dilations])]


def conv_nd(x, w, bias, strides, pads, dilations, group) -> np.ndarray:
    """Grouped N-d convolution as im2col + one batched matmul (BLAS) over the groups."""
    n, batch, (out_c, cg, *k) = x.ndim - 2, x.shape[0], w.shape
    # Accumulate in float64: the oracle must not depend on BLAS blocking (output channels with
    # equal weights must get equal sums, or a softmax over huge equal logits is not uniform).
    acc = lambda a: a.astype(np.float64) if a.dtype.kind == "f" else upcast(a)
    cols = windows(pad_spatial(acc(x), pads), k, strides, dilations)
    out = cols.shape[2:2 + n]
    # [N, C, *out, *k] -> [G, N * out, C/G * k]: one matrix per group, the only copy made.
    cols = cols.reshape(batch, group, cg, *cols.shape[2:])
    mat = cols.transpose(1, 0, *range(3, 3 + n), 2, *range(3 + n, 3 + 2 * n)).reshape(group, -1, cg * int(np.prod(k)))
    y = mat @ acc(w).reshape(group, out_c // group, -1).transpose(0, 2, 1)
    y = y.reshape(group, batch, *out, out_c // group).transpose(1, 0, n + 2, *range(2, 2 + n))
    y = y.reshape(batch, out_c, *out)
    if bias is not None:
        y = y + upcast(bias).reshape(-1, *[1] * n)
    return y.astype(x.dtype)


def _check_operands(x: TensorType, w: TensorType, bias: TensorType | None, n: int, group: int) -> None:
    need_float(x, "input")
    same_dtype(*present(x, w, bias))
    need_rank(x, n + 2, "input")
    need_rank(w, n + 2, "weight")
    if bias is not None:
        need_rank(bias, 1, "bias")
    if group < 1:
        fail(f"group must be >= 1, got {group}")


def _divisible(d: Dim, group: int, what: str) -> None:
    if isinstance(d, int) and d % group:
        fail(f"{what} ({d}) is not divisible by group ({group})")


def _conv_infer(x, w, bias=None, *, n, strides, pads, dilations, group):
    _check_operands(x, w, bias, n, group)
    check_spatial_attrs(n, strides=strides, pads=pads, dilations=dilations)
    _divisible(x.shape[1], group, "input channels")
    _divisible(w.shape[0], group, "output channels")
    if isinstance(x.shape[1], int):
        same_dim(x.shape[1] // group, w.shape[1], "input channels / group and weight dim 1 differ")
    if bias is not None:
        same_dim(bias.shape[0], w.shape[0], "bias size and output channels differ")
    if not all(isinstance(k, int) for k in w.shape[2:]):
        fail(f"kernel shape {list(w.shape[2:])} must be static")
    spatial = [window_count(d, k, s, pads[i], pads[i + n], dl)
               for i, (d, k, s, dl) in enumerate(zip(x.shape[2:], w.shape[2:], strides, dilations))]
    return out_type(x, (x.shape[0], w.shape[0], *spatial))


def _conv_reference(x, w, bias=None, *, n, strides, pads, dilations, group):
    return conv_nd(x, w, bias, strides, pads, dilations, group)


def _conv_flops(operand_types, result_types, attrs):
    (out,), w = result_types, operand_types[1]
    macs = out.numel * int(np.prod([size_or_one(d) for d in w.shape[1:]]))
    return 2 * macs + (out.numel if len(operand_types) > 2 else 0)


def _transpose_infer(x, w, bias=None, *, n, strides, pads, dilations, group, output_padding):
    _check_operands(x, w, bias, n, group)
    check_spatial_attrs(n, strides=strides, pads=pads, dilations=dilations, output_padding=output_padding)
    if any(p >= max(s, d) for p, s, d in zip(output_padding, strides, dilations)):
        fail(f"output_padding {list(output_padding)} must be smaller than the stride or the dilation")
    same_dim(x.shape[1], w.shape[0], "input channels and weight dim 0 differ")
    _divisible(x.shape[1], group, "input channels")
    out_c = w.shape[1] * group if isinstance(w.shape[1], int) else None
    if bias is not None:
        same_dim(bias.shape[0], out_c, "bias size and output channels differ")
    spatial = []
    for i, (d, k) in enumerate(zip(x.shape[2:], w.shape[2:])):
        size = (strides[i] * (d - 1) + output_padding[i] + dilations[i] * (k - 1) + 1 - pads[i] - pads[i + n]
                if isinstance(d, int) and isinstance(k, int) else None)
        if size is not None and size < 1:
            fail(f"spatial dim {i} of the result would be {size}")
        spatial.append(size)
    return out_type(x, (x.shape[0], out_c, *spatial))


def _transpose_reference(x, w, bias=None, *, n, strides, pads, dilations, group, output_padding):
    """Zero-stuff the input by the stride, then a stride-1 conv with the flipped, transposed kernel."""
    up = np.zeros((*x.shape[:2], *[(d - 1) * s + 1 for d, s in zip(x.shape[2:], strides)]), upcast(x).dtype)
    up[(slice(None), slice(None), *[slice(None, None, s) for s in strides])] = x
    reach = [d * (k - 1) for d, k in zip(dilations, w.shape[2:])]
    conv_pads = [r - p for r, p in zip(reach, pads[:n])] + [
        r - p + op for r, p, op in zip(reach, pads[n:], output_padding)]
    ci, cog, k = w.shape[0], w.shape[1], w.shape[2:]
    wt = upcast(w).reshape(group, ci // group, cog, *k).swapaxes(1, 2)[(..., *[slice(None, None, -1)] * n)]
    y = conv_nd(up, wt.reshape(group * cog, ci // group, *k), bias, [1] * n, conv_pads, dilations, group)
    return y.astype(x.dtype)


def _transpose_flops(operand_types, result_types, attrs):
    """Every input element is multiplied by C_out/group * kernel weights."""
    x, w = operand_types[:2]
    per = int(np.prod([size_or_one(d) for d in w.shape[1:]]))
    return 2 * x.numel * per + (result_types[0].numel if len(operand_types) > 2 else 0)


def _spatial_defaults(n: int) -> dict[str, Attr]:
    return {"strides": Attr("ints", (1,) * n), "pads": Attr("ints", (0,) * (2 * n)),
            "dilations": Attr("ints", (1,) * n), "group": Attr("int", 1)}


for _n in (1, 2, 3):
    register(OpDef(
        f"conv{_n}d", ("x", "w", "bias?"), _spatial_defaults(_n), OUT_FUSABLE,
        partial(_conv_infer, n=_n), partial(_conv_reference, n=_n), flops=_conv_flops,
        doc=f"{_n}-d convolution like ONNX Conv: x [N, C, *S], w [O, C/group, *K], pads [begin..., end...]."))
    register(OpDef(
        f"conv_transpose{_n}d", ("x", "w", "bias?"),
        {**_spatial_defaults(_n), "output_padding": Attr("ints", (0,) * _n)}, OUT_FUSABLE,
        partial(_transpose_infer, n=_n), partial(_transpose_reference, n=_n), flops=_transpose_flops,
        doc=f"{_n}-d transposed convolution like ONNX ConvTranspose: w [C, O/group, *K]."))
