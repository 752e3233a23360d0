"""Linear algebra: MatMul, Gemm, Einsum, MatMulInteger and the QLinear* quantized products."""

from __future__ import annotations

from .node import NodeView
from .registry import converter


@converter("MatMul")
def matmul(n: NodeView):
    return n.op("matmul", n.input(0), n.input(1))


@converter("Gemm", since=7)
def gemm(n: NodeView):
    operands = [x for x in n.inputs()[:3] if x is not None]
    return n.op("gemm", *operands, alpha=n.attr("alpha", 1.0), beta=n.attr("beta", 1.0),
                trans_a=bool(n.attr("transA", 0)), trans_b=bool(n.attr("transB", 0)))


@converter("Einsum")
def einsum(n: NodeView):
    xs, dt = n.inputs(), n.type(0).dtype
    if dt.name == "bf16":  # NumPy's einsum has no bfloat16 kernels: compute in f32
        xs = [n.op("cast", x, dtype="f32") for x in xs]
    y = n.op("einsum", *xs, equation=n.attr("equation").replace(" ", ""))
    return n.op("cast", y, dtype=dt) if dt.name == "bf16" else y


@converter("MatMulInteger")
def matmul_integer(n: NodeView):
    return n.op("matmul_integer", *[x for x in n.inputs() if x is not None])


@converter("QLinearMatMul")
def qlinear_matmul(n: NodeView):
    """dequantize -> float matmul -> quantize, the definition of QLinearMatMul."""
    a = n.op("dequantize_linear", n.input(0), n.input(1), n.input(2), axis=-2 if n.rank(1) == 1 else 1)
    b = n.op("dequantize_linear", n.input(3), n.input(4), n.input(5), axis=-1 if n.rank(4) == 1 else 1)
    y = n.op("matmul", a, b)
    return n.op("quantize_linear", y, n.input(6), n.input(7), axis=-1 if n.rank(6) == 1 else 1)


@converter("QLinearConv")
def qlinear_conv(n: NodeView):
    """dequantize -> float conv -> quantize, the definition of QLinearConv."""
    from .conv import _conv_op, kernel_of, window_attrs

    x = n.op("dequantize_linear", n.input(0), n.input(1), n.input(2))
    w = n.op("dequantize_linear", n.input(3), n.input(4), n.input(5), axis=0)
    operands = [x, w]
    if n.has(8):  # the int32 bias is quantized with scale x_scale * w_scale
        bias_scale = n.op("mul", n.input(1), n.input(4))
        operands.append(n.op("mul", n.op("cast", n.input(8), dtype=n.type(1).dtype), bias_scale))
    attrs = window_attrs(n, kernel_of(n, 3))
    y = n.op(_conv_op(n, "conv"), *operands, group=n.attr("group", 1), **attrs)
    return n.op("quantize_linear", y, n.input(6), n.input(7))


@converter("Det")
def det(n: NodeView):
    return n.op("det", n.input(0))
