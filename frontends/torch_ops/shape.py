"""Shape and layout ATen ops: view, permute, expand, squeeze, cat, split, slice, select, pad, flip, repeat."""

from __future__ import annotations

from torch.ops import aten

from .context import Ctx
from .registry import converts

END = 2**63 - 1  # a slice end this large means "to the end", as in ONNX and torch


def reshape_spec(cx: Ctx, x) -> list[int]:
    """IR reshape target for the node's output: static sizes stay, a symbolic dim that matches the
    input's at the same position copies it (0), and one other symbolic dim is inferred (-1)."""
    spec = []
    for i, d in enumerate(cx.shape()):
        if isinstance(d, int) and (d != 0 or (i < x.type.rank and x.type.shape[i] == 0)):
            spec.append(d)
        elif d is not None and i < x.type.rank and x.type.shape[i] == d:
            spec.append(0)
        else:
            spec.append(-1)
    if spec.count(-1) > 1:
        cx.fail(f"view to {list(cx.val.shape)} needs more than one inferred dim")
    return spec


@converts(aten.view)
def view(cx: Ctx, x, size):
    return cx.op("reshape", x, shape=reshape_spec(cx, x))


@converts(aten.permute)
def permute(cx: Ctx, x, dims):
    return cx.op("transpose", x, perm=[d % max(x.type.rank, 1) for d in dims])


@converts(aten.expand)
def expand(cx: Ctx, x, size, *, implicit=False):
    """IR expand broadcasts both ways, so -1 (keep) and a symbol the input already has become 1."""
    lead = len(size) - x.type.rank
    shape = []
    for i, s in enumerate(size):
        kept = x.type.shape[i - lead] if i >= lead else None
        d = cx.dim(s)
        if isinstance(d, int) and d >= 0:
            shape.append(d)
        elif d == -1 or (d is not None and d == kept):
            shape.append(1)
        else:
            cx.fail(f"expand to symbolic size {s} at dim {i} is not supported")
    return cx.op("expand", x, shape=shape)


@converts(aten.squeeze)
def squeeze(cx: Ctx, x, dim=None):
    """torch squeezes only the given dims that are 1 and ignores the others."""
    dims = range(x.type.rank) if dim is None else [dim] if isinstance(dim, int) else dim
    axes = [d % x.type.rank for d in dims if x.type.rank and x.type.shape[d] == 1]
    return cx.op("squeeze", x, axes=axes) if axes else x


@converts(aten.unsqueeze)
def unsqueeze(cx: Ctx, x, dim):
    return cx.op("unsqueeze", x, axes=[dim % (x.type.rank + 1)])


@converts(aten.cat)
def cat(cx: Ctx, tensors, dim=0):
    dt = cx.out_dtype()
    return cx.op("concat", *[cx.cast(t, dt) for t in tensors], axis=dim)


@converts(aten.split_with_sizes)
def split_with_sizes(cx: Ctx, x, sizes, dim=0):
    return cx.op("split", x, axis=dim, sizes=cx.static(sizes, "split sizes"))


def bound(cx: Ctx, x, dim: int, b, default: int) -> int:
    """A slice bound as an int; a symbolic one must be the whole dim (then: the end)."""
    if b is None:
        return default
    d = cx.dim(b)
    if isinstance(d, int):
        return d
    if d is not None and d == x.type.shape[dim]:
        return END
    cx.fail(f"slice bound {b} is symbolic")


@converts(aten.slice)
def slice_(cx: Ctx, x, dim=0, start=None, end=None, step=1):
    start, end = bound(cx, x, dim, start, 0), bound(cx, x, dim, end, END)
    if start == 0 and end >= END and step == 1:
        return x
    return cx.op("slice", x, starts=[start], ends=[min(end, END)], axes=[dim], steps=[step])


@converts(aten.select)
def select(cx: Ctx, x, dim, index):
    end = index + 1 if index != -1 else END
    y = cx.op("slice", x, starts=[index], ends=[end], axes=[dim])
    return cx.op("squeeze", y, axes=[dim])


def pads_of(cx: Ctx, x, pad) -> list[int]:
    """torch pad (last dim first, (begin, end) pairs) as IR pads [begins..., ends...]."""
    rank = x.type.rank
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    return begins + ends


@converts(aten.constant_pad_nd)
def constant_pad(cx: Ctx, x, pad, value=0):
    return cx.op("pad", x, pads=pads_of(cx, x, pad), mode="constant", value=float(value))


@converts(aten.flip)
def flip(cx: Ctx, x, dims):
    n = len(dims)
    return cx.op("slice", x, starts=[-1] * n, ends=[-END - 1] * n, axes=list(dims), steps=[-1] * n)


@converts(aten.repeat)
def repeat(cx: Ctx, x, repeats):
    extra = len(repeats) - x.type.rank
    if extra:
        x = cx.op("unsqueeze", x, axes=list(range(extra)))
    return cx.op("tile", x, repeats=cx.static(repeats, "repeats"))
