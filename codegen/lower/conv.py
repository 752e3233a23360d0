"""TE computes for conv1d/2d/3d and conv_transpose1d/2d/3d on NC[D]HW tensors.

A convolution is a materialized `pad` block (the schedules keep it, so the hot loop has no bounds
checks) and one reduction block; a transposed convolution zero-stuffs its input by the stride in
that block and runs a stride-1 convolution with the flipped, transposed kernel (a weight view)."""

from __future__ import annotations

from tvm import te, tirx

from .linalg import acc_dtype, finish, widen
from .registry import lowering

PAD_BLOCK = "pad"


def pad_block(x: te.Tensor, before, after, value, stride=None) -> te.Tensor:
    """x padded (negative: cropped) on its spatial axes; with `stride`, input element j lands at j*s."""
    n = len(before)
    stride = stride or [1] * n
    sizes = [int(d) for d in x.shape[2:]]
    if not any(before) and not any(after) and all(s == 1 for s in stride):
        return x
    shape = [*x.shape[:2], *[(d - 1) * s + 1 + b + a for d, s, b, a in zip(sizes, stride, before, after)]]
    fill = tirx.const(value, str(x.dtype))

    def f(nn, c, *i):
        conds, src = [], []
        for j, d, s, b in zip(i, sizes, stride, before):
            conds += [j >= b, j < b + (d - 1) * s + 1] + ([tirx.floormod(j - b, s) == 0] if s > 1 else [])
            src.append(tirx.floordiv(j - b, s) if s > 1 else j - b)
        return tirx.if_then_else(tirx.all(*conds), x[(nn, c, *src)], fill)

    return te.compute(shape, f, name=PAD_BLOCK)


def conv_core(xp: te.Tensor, w_at, w_shape, strides, dilations, group: int, out_shape, name: str) -> te.Tensor:
    """out[n, o, *s] = sum over (c, *k) of xp[n, group(o) * C/g + c, s * stride + k * dil] * w_at(o, c, *k)."""
    out_c, cg, *ks = w_shape
    og = out_c // group
    acc = acc_dtype(str(xp.dtype))
    rc = te.reduce_axis((0, cg), "rc")
    rk = [te.reduce_axis((0, k), f"rk{i}") for i, k in enumerate(ks)]

    def f(n, o, *s):
        c = rc if group == 1 else o // og * cg + rc
        pos = [si * st + r * d for si, st, r, d in zip(s, strides, rk, dilations)]
        return te.sum(widen(xp[(n, c, *pos)], acc) * widen(w_at(o, rc, *rk), acc), axis=[rc, *rk])

    return te.compute(out_shape, f, name=name)


def add_bias(y: te.Tensor, ins, dt: str) -> te.Tensor:
    """The optional bias [O] added per output channel, then the cast back to the input dtype."""
    if len(ins) > 2:
        bias = ins[2]
        y = te.compute(y.shape, lambda n, o, *s: y[(n, o, *s)] + widen(bias[o], str(y.dtype)), name="bias_add")
    return finish(y, dt)


def _conv(ins, attrs, out_types):
    x, w = ins[:2]
    n = len(x.shape) - 2
    pads = attrs["pads"]
    xp = pad_block(x, pads[:n], pads[n:], 0)
    w_shape = [int(d) for d in w.shape]
    y = conv_core(xp, lambda *i: w[i], w_shape, attrs["strides"], attrs["dilations"], attrs["group"],
                  list(out_types[0].shape), "conv")
    return add_bias(y, ins, str(x.dtype))


def _conv_transpose(ins, attrs, out_types):
    x, w = ins[:2]
    n, group = len(x.shape) - 2, attrs["group"]
    strides, dilations, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
    ks = [int(d) for d in w.shape[2:]]
    reach = [d * (k - 1) for d, k in zip(dilations, ks)]
    before = [r - p for r, p in zip(reach, pads[:n])]
    after = [r - p + op for r, p, op in zip(reach, pads[n:], attrs["output_padding"])]
    xp = pad_block(x, before, after, 0, strides)
    ci, og = int(w.shape[0]), int(w.shape[1])
    cg = ci // group

    def w_at(o, c, *k):  # the stride-1 conv weight [g * og + o, c, *k] = w[g * cg + c, o, *(K - 1 - k)]
        src = o // og * cg + c if group > 1 else c
        return w[(src, o % og if group > 1 else o, *[kk - 1 - ki for kk, ki in zip(ks, k)])]

    y = conv_core(xp, w_at, [og * group, cg, *ks], [1] * n, dilations, group, list(out_types[0].shape), "conv")
    return add_bias(y, ins, str(x.dtype))


lowering("conv2d", rule="conv2d")(_conv)
lowering("conv1d", "conv3d", rule="conv")(_conv)
lowering("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", rule="conv")(_conv_transpose)
