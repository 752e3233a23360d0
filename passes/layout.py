"""layout=NCHW8c: channel-blocked activations between the convolutions that vectorize along channels.

A conv2d whose output channels fill whole blocks writes its result blocked (its kernel then stores
one vector of 8 channels per position instead of scattering them over 8 planes); elementwise ops
keep the layout of their same-shaped operands, a concat along channels (whole blocks) and a 2-D
max or average pool that of their inputs; every other consumer and the function's outputs get a
`layout_transform` back to NCHW, so transforms appear only at the edges of blocked regions. Types
keep their logical shapes (ir/layouts.py): the IR means the same and the interpreter runs it as is.
Weights are pre-packed at compile time by codegen (codegen/lower/layouts.py), once per weight.
"""

from __future__ import annotations

from ..errors import KernforgeError
from ..ir.graph import Function, Module, Node, Operand, Param, Value
from ..ir.layouts import PLAIN, blocked_layout, can_block, channel_block
from ..ir.ops import get_op
from ..ir.ops.registry import BROADCAST, ELEMWISE
from ..ir.types import TensorType
from .manager import register_pass

# Pools that run on channel blocks (codegen/lower/pool.py): a vector of channels per output position.
WINDOW_POOLS = ("max_pool", "avg_pool")


@register_pass("layout", option="NCHW8c")
def layout(module: Module, option: str) -> Module:
    """Store conv2d results and their elementwise consumers as NCHW<b>c (b = 8 for AVX2's 8 floats)."""
    block = channel_block(option)
    if block is None:
        raise KernforgeError(f"layout={option}: expected a channel-blocked layout such as NCHW8c")
    for func in module.functions.values():
        _block_function(func, block)
    return module


def _block_function(func: Function, block: int) -> None:
    fixed = _already_blocked(func, block)
    blocked = _blocked_results(func, block, fixed)  # ids of values stored blocked
    converted: dict[tuple[int, str], Value] = {}  # (id(value), layout) -> its layout_transform
    nodes: list[Node] = []

    def convert(v: Operand, target: str) -> Operand:
        key = (id(v), target)
        if key not in converted:
            t = TensorType(v.type.shape, v.type.dtype, None if target == PLAIN else target)
            node = Node("layout_transform", [v], {"layout": target}, [])
            node.results = [Value(t, None, node, 0)]
            nodes.append(node)
            converted[key] = node.results[0]
        return converted[key]

    for node in func.nodes:
        if node.op == "layout_transform" or any(id(r) in fixed for r in node.results):
            nodes.append(node)  # reads any layout / keeps the layout it was given
            continue
        goes_blocked = bool(node.results) and id(node.results[0]) in blocked
        keep = _blocked_operands(node, goes_blocked)
        new = []
        for i, v in enumerate(node.operands):
            if id(v) in blocked and i not in keep:
                v = convert(v, PLAIN)
            elif goes_blocked and i in keep and id(v) not in blocked and node.op != "conv2d":
                v = convert(v, blocked_layout(block))
            new.append(v)
        node.operands = new
        if goes_blocked:
            r = node.results[0]
            r.type = TensorType(r.type.shape, r.type.dtype, blocked_layout(block))
        nodes.append(node)
    func.nodes = nodes
    func.outputs = [convert(v, PLAIN) if id(v) in blocked else v for v in func.outputs]


def _already_blocked(func: Function, block: int) -> set[int]:
    """Values typed blocked before the pass (an explicit layout_transform, a function argument)."""
    layout = blocked_layout(block)
    values = [*func.args, *(r for n in func.nodes for r in n.results)]
    return {id(v) for v in values if v.type.layout == layout}


def _blocked_results(func: Function, block: int, fixed: set[int]) -> set[int]:
    """The values to store blocked: those that may be (forward), less those no user reads blocked
    (backward, repeated): a conv feeding only a concat or a pool then writes NCHW itself, rather than
    a transform back after it."""
    blocked = set(fixed)
    for node in func.nodes:
        if node.results and id(node.results[0]) not in fixed and _result_blocked(node, blocked, block):
            blocked.add(id(node.results[0]))
    while True:
        read_blocked = {id(node.operands[i]) for node in func.nodes
                        for i in _blocked_operands(node, bool(node.results) and id(node.results[0]) in blocked)}
        unread = {v for v in blocked - fixed if v not in read_blocked}
        if not unread:
            return blocked
        blocked -= unread


def _blocked_operands(node: Node, result_blocked: bool) -> set[int]:
    """Operand positions a node reads blocked: a conv2d its input whatever its own result (its kernel
    reads the input as broadcast scalars, or as channel vectors), a layout_transform its input; an
    elementwise op storing its result blocked its operands of the result's shape (scalars stay)."""
    if node.op in ("conv2d", "layout_transform"):
        return {0}
    if not result_blocked:
        return set()
    if node.op == "concat":
        return set(range(len(node.operands)))
    if node.op in WINDOW_POOLS:
        return {0}
    shape = node.results[0].type.shape
    return {i for i, v in enumerate(node.operands) if v.type.shape == shape}


def _result_blocked(node: Node, blocked: set[int], block: int) -> bool:
    if len(node.results) != 1 or node.region is not None:
        return False
    t = node.results[0].type
    if not can_block(t, block) or t.dtype.name != "f32" or t.encoding is not None:
        return False
    if node.op == "conv2d":
        return _conv_blocks(node, id(node.operands[0]) in blocked, block)
    if node.op == "concat":
        return _concat_blocks(node, blocked, block)
    if node.op in WINDOW_POOLS:  # per channel: a pool of blocks is a block of pools
        return len(node.attrs["kernel_shape"]) == 2 and id(node.operands[0]) in blocked
    if get_op(node.op).fusion not in (ELEMWISE, BROADCAST):
        return False
    same = [v for v in node.operands if v.type.shape == t.shape]
    rest = [v for v in node.operands if v.type.shape != t.shape]
    # other operands must broadcast along nothing but whole tensors (scalars): a per-channel
    # constant [C, 1, 1] would need its own blocked view
    return any(id(v) in blocked for v in same) and all(_numel(v) == 1 for v in rest)


def _concat_blocks(node: Node, blocked: set[int], block: int) -> bool:
    """A concat along channels of whole blocks is a concat of blocks: blocked when an input is
    (SqueezeNet's fire modules, DenseNet's dense blocks, Inception's branches)."""
    axis = node.attrs["axis"] % 4
    whole = all(v.type.rank == 4 and isinstance(v.type.shape[1], int) and v.type.shape[1] % block == 0
                for v in node.operands)
    return axis == 1 and whole and any(id(v) in blocked for v in node.operands)


def _conv_blocks(node: Node, input_blocked: bool, block: int) -> bool:
    """A 2-D conv with a constant weight whose kernel vectorizes along output channels, reading its
    input as broadcast scalars (any layout); a depthwise one reads vectors along its input channels,
    so only from a blocked input."""
    x, w = node.operands[0].type, node.operands[1]
    if not isinstance(w, Param) or w.data is None or x.rank != 4 or w.type.dtype.name != "f32":
        return False
    group = node.attrs["group"]
    depthwise = group > 1 and w.type.shape[1] == 1 and group % block == 0
    if group > 1 and not depthwise:
        return False
    return input_blocked or not depthwise


def _numel(v: Operand) -> int:
    n = 1
    for d in v.type.shape:
        n *= d if isinstance(d, int) else 2
    return n
