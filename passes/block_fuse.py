"""Block fusion: a MobileNetV2 inverted-residual block (1x1 expand conv, 3x3 depthwise conv, 1x1 project
conv, each with its fused epilogue, and the residual add) becomes one `fused` node of kind "block".

Its kernel (codegen/lower/line_block.py) walks the rows keeping the last three expanded rows in a ring,
so the expanded intermediate lives in cache and never goes to memory (blocks it does not cover fall back
to codegen/schedules/cpu_block.py's row bands). Runs after fuse-ops, whose nodes it merges; in -O3.
"""

from __future__ import annotations

from ..ir.graph import Function, Module, Node, Operand, Value
from ..ir.ops import get_op
from ..ir.ops.registry import BROADCAST, ELEMWISE
from .fuse_ops import make_fused, replace_groups
from .manager import register_pass

BLOCK_KIND = "block"
# Cost rule: fuse only when one image's expanded intermediate (the depthwise conv's input) would take
# over half a core's L2 (512 KiB assumed) between the unfused kernels. Measured in MobileNetV2 (znver4,
# 2 cores, NCHW8c): 56x56x144 and 28x28x192 blocks take 0.66x the time of their three kernels, 14x14x384
# 0.87-1.0x, 14x14x576 1.1x; 7x7x960 (under the bar) 1.2x: with few rows per task, the rows recomputed
# at task seams and the short rows cost more than the traffic saved.
L2_BYTES = 512 * 1024
MIN_BYTES = L2_BYTES // 2


@register_pass("block-fuse")
def block_fuse(module: Module, min_bytes: int = MIN_BYTES) -> Module:
    """Merge expand -> depthwise -> project conv chains whose intermediate exceeds `min_bytes`."""
    for func in module.functions.values():
        block_fuse_function(func, min_bytes)
    return module


def block_fuse_function(func: Function, min_bytes: int = MIN_BYTES) -> None:
    """Rewrite one function in place: each chain found becomes one block node."""
    replace_groups(func, find_chains(func, min_bytes), merge)


def find_chains(func: Function, min_bytes: int) -> list[list[Node]]:
    """(expand, depthwise, project) node triples, each intermediate used once and not returned."""
    users = func.users()
    outputs = {id(v) for v in func.outputs}

    def only_user(node: Node) -> Node | None:
        found = users.get(id(node.results[0]), []) if len(node.results) == 1 else []
        return found[0] if len(found) == 1 and id(node.results[0]) not in outputs else None

    chains = []
    for expand in func.nodes:
        dw = only_user(expand) if _is_pointwise(expand) else None
        project = only_user(dw) if dw is not None and _is_depthwise(dw, expand) else None
        if project is None or not _is_pointwise(project, dw):
            continue
        if _expanded_bytes(expand) > min_bytes:
            chains.append([expand, dw, project])
    return chains


def _conv(node: Node) -> Node | None:
    """The conv2d of a stage: the node itself, or the first node of a fused conv + epilogue region
    (its other nodes elementwise or broadcast, as fuse-ops builds them)."""
    if node.op == "conv2d":
        return node
    if node.op != "fused" or node.region is None or node.region.nodes[0].op != "conv2d":
        return None
    rest = node.region.nodes[1:]
    return node.region.nodes[0] if all(get_op(n.op).fusion in (ELEMWISE, BROADCAST) for n in rest) else None


def _data_input(node: Node) -> Operand | None:
    """The outer value a stage's conv reads as its data input."""
    conv = _conv(node)
    if conv is None or node.op == "conv2d":
        return node.operands[0] if conv is not None else None
    found = [v for a, v in zip(node.region.args, node.operands) if a is conv.operands[0]]
    return found[0] if found else None


def _is_pointwise(node: Node, fed_by: Node | None = None) -> bool:
    """A 1x1, stride-1, unpadded, ungrouped static 4-D float conv (reading `fed_by`'s result)."""
    conv = _conv(node)
    if conv is None or not _static_conv(conv) or conv.attrs.get("group", 1) != 1:
        return False
    w = conv.operands[1].type
    ok = tuple(w.shape[2:]) == (1, 1) and set(conv.attrs["strides"]) == {1} and not any(conv.attrs["pads"])
    return ok and (fed_by is None or _data_input(node) is fed_by.results[0])


def _is_depthwise(node: Node, fed_by: Node) -> bool:
    """A stride-1, dilation-1 depthwise conv (one channel per group) reading `fed_by`'s result; the
    first version keeps the output size so that a band of output rows reads band + k - 1 input rows."""
    conv = _conv(node)
    if conv is None or not _static_conv(conv) or _data_input(node) is not fed_by.results[0]:
        return False
    x, w = conv.operands[0].type, conv.operands[1].type
    same = list(conv.result.type.shape) == list(x.shape)
    return conv.attrs["group"] == x.shape[1] and w.shape[1] == 1 and set(conv.attrs["strides"]) == {1} \
        and set(conv.attrs.get("dilations", [1, 1])) == {1} and same


def _static_conv(conv: Node) -> bool:
    x = conv.operands[0].type
    return x.is_static and x.rank == 4 and str(x.dtype) == "f32"


def _expanded_bytes(expand: Node) -> int:
    """Bytes of one image of the expand stage's output (float32)."""
    _, c, h, w = expand.results[0].type.shape
    return 4 * c * h * w


def merge(chain: list[Node]) -> Node:
    """One block node: the stages' region nodes, rewired onto outer values, in one region."""
    group: list[Node] = []
    for stage in chain:
        group += _unpack(stage)
    fused = make_fused(group)
    fused.attrs["kind"] = BLOCK_KIND
    return fused


def _unpack(stage: Node) -> list[Node]:
    """A stage's nodes reading outer values; the last one yields the stage's own result Value (so
    that the next stage, or the users of the block, need no rewrite)."""
    if stage.region is None:
        return [stage]
    values: dict[int, Operand] = {id(a): v for a, v in zip(stage.region.args, stage.operands)}
    out = []
    for i, n in enumerate(stage.region.nodes):
        clone = Node(n.op, [values[id(v)] for v in n.operands], dict(n.attrs), [])
        last = i == len(stage.region.nodes) - 1
        result = stage.results[0] if last else Value(n.result.type, None)
        result.producer, result.index = clone, 0
        clone.results = [result]
        values[id(n.result)] = result
        out.append(clone)
    return out
