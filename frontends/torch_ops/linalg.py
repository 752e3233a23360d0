"""Matrix products: mm, bmm, addmm (a Linear layer becomes `dense`) and convolution."""

from __future__ import annotations

from torch.ops import aten

from ...ir.graph import Param
from .context import Ctx
from .registry import converts


@converts(aten.mm, aten.bmm)
def matmul(cx: Ctx, a, b):
    """A bias-free nn.Linear (mm with a transposed weight param) becomes dense."""
    w = _transposed_param(b)
    return cx.op("dense", a, w) if w is not None else cx.op("matmul", a, b)


def _transposed_param(b):
    """The [N, K] weight param when b is transpose(param) (how torch.export spells nn.Linear)."""
    node = getattr(b, "producer", None)
    if node is not None and node.op == "transpose" and isinstance(node.operands[0], Param) \
            and tuple(node.attrs["perm"] or (1, 0)) == (1, 0) and node.operands[0].type.rank == 2:
        return node.operands[0]
    return None


@converts(aten.addmm)
def addmm(cx: Ctx, bias, a, b, *, beta=1, alpha=1):
    """beta * bias + alpha * (a @ b); with unit scales and a transposed weight param, a dense op."""
    w = _transposed_param(b)
    if beta == 1 and alpha == 1 and w is not None and bias.type.rank == 1:
        return cx.op("dense", a, w, bias)
    y = cx.op("matmul", a, b)
    if alpha != 1:
        y = cx.op("mul", y, cx.like(alpha, y))
    if beta != 1:
        bias = cx.op("mul", bias, cx.like(beta, bias))
    return cx.op("add", y, bias) if beta != 0 else y


def _spatial(values, n: int) -> list[int]:
    """A per-spatial-dim list from torch's int, one-element or full list."""
    values = [values] if isinstance(values, int) else list(values)
    return values * n if len(values) == 1 else values


@converts(aten.convolution)
def convolution(cx: Ctx, x, w, bias, stride, padding, dilation, transposed, output_padding, groups):
    """ATen convolution: padding is symmetric per spatial dim; IR pads are [begins..., ends...]."""
    n = w.type.rank - 2
    pads = _spatial(padding, n)
    attrs = dict(strides=_spatial(stride, n), pads=pads + pads, dilations=_spatial(dilation, n), group=groups)
    operands = (x, w) if bias is None else (x, w, bias)
    if transposed:
        return cx.op(f"conv_transpose{n}d", *operands, output_padding=_spatial(output_padding, n), **attrs)
    return cx.op(f"conv{n}d", *operands, **attrs)
