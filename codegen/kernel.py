"""One kernel = one PrimFunc: compose the TE computes of a node (or a fused region's nodes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tvm import te

from ..errors import UnsupportedOpError
from ..ir.graph import Function, Node, Param, Value
from ..ir.layouts import channel_block, physical_shape
from ..ir.ops import FUSION_KINDS, get_op
from ..ir.printer import print_function
from .dtypes import tvm_dtype
from .lower import Prepack, get_lowering, line_block
from .lower.layouts import blocked_store, blocked_view
from .lower.registry import lowering_for
from .target import resolve_target

# Which op of a kernel decides its schedule: the heaviest fusion kind wins.
_PRIORITY = {k: i for i, k in enumerate(FUSION_KINDS)}
# Fused kinds that name their own schedule rule: a whole block of convolutions, not one anchor op
# with its epilogue (passes/block_fuse.py).
BLOCK_KIND = "block"
_KIND_RULES = {BLOCK_KIND}


@dataclass
class KernelSpec:
    """A kernel before compilation: its body, a structural key for dedup, and its schedule rule."""

    body: Function
    key: str
    rule: str
    anchor: str
    packs: dict[int, Prepack] = field(default_factory=dict)  # body arg index -> layout of the weight it gets


def kernel_body(node: Node) -> Function:
    """The region of a fused node, or a one-node function wrapping a single op."""
    if node.region is not None:
        return node.region
    args = [Value(v.type, f"in{i}") for i, v in enumerate(node.operands)]
    inner = Node(node.op, list(args), dict(node.attrs), [])
    inner.results = [Value(r.type, None, inner, i) for i, r in enumerate(node.results)]
    return Function(node.op, args, [inner], list(inner.results))


def kernel_spec(node: Node) -> KernelSpec:
    body = kernel_body(node)
    anchor = max(body.nodes, key=lambda n: _PRIORITY[get_op(n.op).fusion])
    line = _line_block_packs(node)
    packs = line if line is not None else _op_packs(node)
    body_key = print_function(Function("k", body.args, body.nodes, body.outputs))
    body_key += "".join(f"\npack {i} {p.name}" for i, p in sorted(packs.items()))
    kind = node.attrs.get("kind") if node.region is not None else None
    rule = line_block.RULE if line is not None else kind if kind in _KIND_RULES else get_lowering(anchor.op).rule
    return KernelSpec(body, body_key, rule, anchor.op, packs)


def arg_packs(node: Node) -> dict[int, Prepack]:
    """Layouts for the node's weight operands (Params with data) that its kernel reads them in."""
    line = _line_block_packs(node)
    return line if line is not None else _op_packs(node)


def _op_packs(node: Node) -> dict[int, Prepack]:
    """The layouts an op of the node's body asks for, for its constant weight operands."""
    body = kernel_body(node)
    arg_index = {id(a): i for i, a in enumerate(body.args)}
    packs: dict[int, Prepack] = {}
    for inner in body.nodes:
        choose = get_lowering(inner.op).prepack
        computed = frozenset(j for j, v in enumerate(inner.operands) if id(v) not in arg_index)
        wanted = choose([v.type for v in inner.operands], inner.attrs, [r.type for r in inner.results],
                        computed) if choose else {}
        for j, pack in wanted.items():
            i = arg_index.get(id(inner.operands[j])) if j < len(inner.operands) else None
            if i is not None and _constant(node, i):
                packs.setdefault(i, pack)
    return packs


def _line_block_packs(node: Node) -> dict[int, Prepack] | None:
    """The weight layouts of a block node the line-buffer kernel computes (its weights constant where
    it reads them transposed), or None for any other node."""
    if node.attrs.get("kind") != BLOCK_KIND or node.region is None or not line_block.supports(node.region):
        return None
    packs = line_block.weight_packs(node.region)
    return packs if all(_constant(node, i) for i in packs) else None


def _constant(node: Node, i: int) -> bool:
    return isinstance(node.operands[i], Param) and node.operands[i].data is not None


def unsupported_ops(nodes: list[Node]) -> list[str]:
    """Ops (from nodes and fused regions) that have no lowering, each listed once."""
    missing: list[str] = []
    for node in nodes:
        body = kernel_body(node)
        for inner in body.nodes:
            try:
                get_lowering(inner.op)
            except UnsupportedOpError:
                if inner.op not in missing:
                    missing.append(inner.op)
    return missing


def build_compute(body: Function, packs: dict[int, Prepack] | None = None) -> tuple[list[te.Tensor], list[te.Tensor]]:
    """Placeholders for the body's arguments (prepacked ones in their packed shape, read back through
    their view) and TE tensors for its outputs."""
    packs = packs or {}
    inputs, env = [], {}
    for i, a in enumerate(body.args):
        shape, pack = _static_shape(a), packs.get(i)
        stored = pack.shape(tuple(shape)) if pack else physical_shape(a.type)
        t = te.placeholder(stored, tvm_dtype(a.type.dtype), name=f"in{i}")
        inputs.append(t)
        env[id(a)] = pack.view(t, tuple(shape)) if pack else blocked_view(t, a.type.layout)
    for node in body.nodes:
        outs = get_lowering(node.op).compute([env[id(v)] for v in node.operands], node.attrs,
                                             [r.type for r in node.results])
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for r, t in zip(node.results, outs):
            env[id(r)] = t
    outputs = []
    for v in body.outputs:
        t = env[id(v)]
        if channel_block(v.type.layout) is not None:
            t = blocked_store(t, v.type.layout)
        elif any(t is x for x in inputs) or any(t is o for o in outputs):
            t = te.compute(t.shape, lambda *i, t=t: t(*i), name="copy")  # an output needs its own buffer
        outputs.append(t)
    return inputs, outputs


def _static_shape(v: Value) -> list[int]:
    if not v.type.is_static:
        raise UnsupportedOpError(f"kernel argument {v.type} has symbolic dims; bind them with input_shapes")
    return list(v.type.shape)


def build_primfunc(spec: KernelSpec, name: str, target=None):
    """The kernel's PrimFunc; a block the line-buffer kernel covers is hand-written TIR for the target."""
    target = target or resolve_target(None)
    if spec.rule == line_block.RULE:
        registers = line_block.registers_of(target.vector_bits)
        inputs, outputs = line_block.line_block_compute(spec.body, target.cores, registers, spec.packs)
    else:
        with lowering_for(target):
            inputs, outputs = build_compute(spec.body, spec.packs)
    return te.create_prim_func(inputs + outputs).with_attr("global_symbol", name)
