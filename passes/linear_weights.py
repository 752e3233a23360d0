"""The constant weights of linear layers (dense, matmul, plain gemm, 1x1 conv), as [outputs, inputs]
matrices, for the passes that re-encode them (quantize, sparsify)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.graph import Node, Param


@dataclass(frozen=True)
class LinearWeight:
    """node contracts its input's `axis` with the constant weight [outputs, inputs]; `layout` says how
    the param stores it: 'nk' as is, 'kn' transposed, 'nk11' as a [outputs, inputs, 1, 1] conv kernel."""

    node: Node
    weight: np.ndarray
    axis: int
    layout: str

    def stored(self, w: np.ndarray) -> np.ndarray:
        """w [outputs, inputs] in the param's layout."""
        return w.T if self.layout == "kn" else w[:, :, None, None] if self.layout == "nk11" else w


def _constant_f32(v, rank: int) -> bool:
    return (isinstance(v, Param) and v.data is not None and v.type.encoding is None
            and v.type.dtype.name == "f32" and v.type.rank == rank)


def bias(node: Node):
    """The node's third operand (dense's bias, gemm's c, conv's bias), or None."""
    return node.operands[2] if len(node.operands) > 2 else None


def dense_weight(node: Node) -> LinearWeight | None:
    """The weight if node is x @ W (+ a 1-D bias) with a constant W: dense, matmul, or a plain gemm."""
    if len(node.operands) < 2 or not _constant_f32(node.operands[1], 2) or node.operands[0].type.dtype.name != "f32":
        return None
    w = np.asarray(node.operands[1].data)
    if node.op == "dense":
        return LinearWeight(node, w, -1, "nk")
    if node.op == "matmul":
        return LinearWeight(node, w.T, -1, "kn")
    if node.op == "gemm":
        a, c = node.attrs, bias(node)
        plain = a["alpha"] == 1.0 and not a["trans_a"] and (c is None or a["beta"] == 1.0)
        # gemm's c may broadcast along rows too; the rewritten ops' bias is one value per output
        if plain and (c is None or c.type.shape == node.results[0].type.shape[-1:]):
            return LinearWeight(node, w if a["trans_b"] else w.T, -1, "nk" if a["trans_b"] else "kn")
    return None


def conv1x1_weight(node: Node) -> LinearWeight | None:
    """The weight of a 2-d 1x1 convolution (stride 1, no padding, one group): a linear map on axis 1."""
    if node.op != "conv2d" or not _constant_f32(node.operands[1], 4) or node.operands[0].type.dtype.name != "f32":
        return None
    a, w = node.attrs, np.asarray(node.operands[1].data)
    plain = a["group"] == 1 and set(a["strides"]) == {1} and set(a["pads"]) == {0} and set(a["dilations"]) == {1}
    return LinearWeight(node, w[:, :, 0, 0], 1, "nk11") if plain and w.shape[2:] == (1, 1) else None
