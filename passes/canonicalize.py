"""canonicalize: constant folding, algebraic simplification, CSE and DCE, repeated until nothing changes.

The algebraic rules live in one table, RULES (op name -> rewrite functions). A rewrite returns an
existing operand that replaces the node's result, a new Node that takes the node's place, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import KernforgeError
from ..ir.graph import Function, Module, Node, Operand, Param, Value
from ..ir.ops import get_op
from .constant_fold import constant_fold
from .cse import cse
from .dce import dce
from .manager import count_nodes, register_pass

MAX_ROUNDS = 16  # a guard only: every round that changes something shrinks or shortens the graph
_INT32_MAX = 2**31 - 1  # slice ends at or above this mean "to the end", whatever the dim


@register_pass("canonicalize")
def canonicalize(module: Module, max_rounds: int = MAX_ROUNDS) -> Module:
    """Constant folding (shape sub-graphs too), algebraic simplification, CSE and DCE, to a fixpoint."""
    for _ in range(max_rounds):
        before = count_nodes(module)
        constant_fold(module)
        rewrites = sum(simplify_function(f, module) for f in module.functions.values())
        cse(module)
        dce(module)
        # Folding, CSE and DCE only ever remove nodes, so an unchanged count means they did nothing.
        if rewrites == 0 and count_nodes(module) == before:
            break
    return module


@dataclass
class Context:
    """What a rewrite may look at: the module (to add params) and the producer of each value so far."""

    module: Module
    producers: dict[int, Node] = field(default_factory=dict)

    def producer(self, v: Operand, op: str) -> Node | None:
        """The node of op `op` that produced v, if any."""
        node = self.producers.get(id(v))
        return node if node is not None and node.op == op else None


# A rewrite returns an operand to use instead, a node to take the node's place (after the helper
# nodes it needs, as a list), or None.
Rewrite = Callable[[Node, Context], "Operand | Node | list[Node] | None"]


def simplify_function(func: Function, module: Module) -> int:
    """One forward sweep of RULES over the top-level nodes; returns how many nodes were rewritten.
    Regions (fused bodies) are not simplified: canonicalize runs before fusion."""
    ctx, replaced, rewrites, nodes = Context(module), {}, 0, []
    for node in func.nodes:
        _substitute(node, replaced)
        new = _first_rewrite(node, ctx)
        if isinstance(new, list):  # helper nodes first, then the one that takes the node's place
            *helpers, new = new
            nodes += helpers
            ctx.producers.update((id(r), h) for h in helpers for r in h.results)
        if isinstance(new, Node):
            node = new
            rewrites += 1
        elif new is not None and forward(func, node.results[0], new, replaced):
            rewrites += 1  # the node is now dead; DCE drops it
        nodes.append(node)
        ctx.producers.update((id(r), node) for r in node.results)
    func.nodes = nodes
    return rewrites


def _first_rewrite(node: Node, ctx: Context) -> Operand | Node | list[Node] | None:
    for rewrite in RULES.get(node.op, ()):
        out = rewrite(node, ctx)
        if out is not None:
            return out
    return None


def _substitute(node: Node, replaced: dict[int, Operand]) -> None:
    """Point the node's operands (and any region's, which may read enclosing values) at replacements."""
    node.operands = [replaced.get(id(v), v) for v in node.operands]
    if node.region is not None:
        for inner in node.region.walk():
            inner.operands = [replaced.get(id(v), v) for v in inner.operands]
        node.region.outputs = [replaced.get(id(v), v) for v in node.region.outputs]


def forward(func: Function, old: Value, new: Operand, replaced: dict[int, Operand]) -> bool:
    """Send every later use of old, function outputs included, to new; refused (False) when old is
    returned and the function's output names would change."""
    if any(v is old for v in func.outputs) and not _keeps_output_names(func, old, new):
        return False
    replaced[id(old)] = new
    func.outputs = [new if v is old else v for v in func.outputs]
    return True


def _keeps_output_names(func: Function, old: Value, new: Operand) -> bool:
    # An anonymous node result can adopt old's name; an argument or a param cannot be renamed.
    adopt = isinstance(new, Value) and new.producer is not None and new.name is None
    if adopt:
        new.name = old.name
    trial = Function(func.name, outputs=[new if v is old else v for v in func.outputs])
    same = trial.output_names == func.output_names
    if adopt and not same:
        new.name = None
    return same


def rebuilt(node: Node, op: str, operands: list[Operand], attrs: dict) -> Node | None:
    """A node that computes node's results another way; None unless its inferred types match exactly."""
    opdef = get_op(op)
    try:
        attrs = opdef.check_attrs(attrs)
        types = opdef.infer_types([v.type for v in operands], attrs)
    except KernforgeError:
        return None
    if types != [r.type for r in node.results]:
        return None
    new = Node(op, list(operands), attrs, node.results)
    for r in node.results:
        r.producer = new
    return new


def _constant(v: Operand) -> np.ndarray | None:
    """A param's data when it is a plain (not quantized or sparse) constant."""
    if isinstance(v, Param) and v.data is not None and v.type.encoding is None:
        return np.asarray(v.data)
    return None


def _same_type(x: Operand, node: Node) -> bool:
    return x.type == node.results[0].type


def small_power(node: Node, ctx: Context) -> Operand | Node | list[Node] | None:
    """pow(x, c) for a float x and a constant c of 1, 2 or 3: x, x*x, (x*x)*x. libm's pow is a call
    per element that does not vectorize (GPT-2's GELU cubes every activation)."""
    x, c = node.operands
    data = _constant(c)
    if data is None or data.size != 1 or not _same_type(x, node) or not x.type.dtype.is_float:
        return None
    e = float(data.reshape(()))
    if e == 1:
        return x
    if e == 2:
        return rebuilt(node, "mul", [x, x], {})
    if e != 3:
        return None
    square = Node("mul", [x, x], {}, [])
    square.results = [Value(x.type, None, square, 0)]
    cube = rebuilt(node, "mul", [square.results[0], x], {})
    return None if cube is None else [square, cube]


# ---- x op c -> x ---------------------------------------------------------------------------------

def _neutral(node: Node, value: int, x_positions: tuple[int, ...]) -> Operand | None:
    """x for `x op c` (x at one of x_positions) when c is all `value` and the result type is x's:
    a constant that broadcasts x to a bigger shape keeps the node."""
    for k in x_positions:
        x, c = node.operands[k], node.operands[1 - k]
        data = _constant(c)
        if data is not None and np.all(data == value) and _same_type(x, node):
            return x
    return None


def mul_by_one(node: Node, ctx: Context) -> Operand | None:
    return _neutral(node, 1, (0, 1))


def add_zero(node: Node, ctx: Context) -> Operand | None:
    # Like most compilers, ignores that -0.0 + 0.0 is +0.0 (the values compare equal).
    return _neutral(node, 0, (0, 1))


def sub_zero(node: Node, ctx: Context) -> Operand | None:
    return _neutral(node, 0, (0,))


def div_by_one(node: Node, ctx: Context) -> Operand | None:
    return _neutral(node, 1, (0,))


# ---- ops that return their operand ---------------------------------------------------------------

def identity(node: Node, ctx: Context) -> Operand | None:
    return node.operands[0] if _same_type(node.operands[0], node) else None


def same_type(node: Node, ctx: Context) -> Operand | None:
    """cast to its own dtype, reshape/expand to its own shape, concat of one input: the operand.
    (Sound for reshape: dims other than 0/-1 are literal, so equal types mean an equal shape.)"""
    return node.operands[0] if len(node.operands) == 1 and _same_type(node.operands[0], node) else None


def whole_slice(node: Node, ctx: Context) -> Operand | None:
    """A unit-step slice from the start to the end of every sliced axis."""
    x, a = node.operands[0], node.attrs
    n = len(a["starts"])
    axes = a["axes"] if a["axes"] is not None else range(n)
    steps = a["steps"] if a["steps"] is not None else (1,) * n
    if len(axes) != n or any(not -x.type.rank <= ax < x.type.rank for ax in axes):
        return None
    for ax, start, end, step in zip(axes, a["starts"], a["ends"], steps):
        if step != 1 or not _covers(x.type.shape[ax], start, end):
            return None
    return x if _same_type(x, node) else None


def _covers(dim, start: int, end: int) -> bool:
    if isinstance(dim, int):
        return (start == 0 or start <= -dim) and end >= dim
    return start == 0 and end >= _INT32_MAX  # an unknown size is covered only by an "end" sentinel


# ---- pairs that compose ----------------------------------------------------------------------------

def _perm(node: Node) -> tuple[int, ...]:
    perm = node.attrs.get("perm")
    return tuple(perm) if perm is not None else tuple(range(node.operands[0].type.rank))[::-1]


def identity_transpose(node: Node, ctx: Context) -> Operand | None:
    perm = _perm(node)
    return node.operands[0] if perm == tuple(range(len(perm))) and _same_type(node.operands[0], node) else None


def compose_transposes(node: Node, ctx: Context) -> Operand | Node | None:
    """transpose(transpose(x, p), q) = transpose(x, p∘q); an identity composition is x itself."""
    inner = ctx.producer(node.operands[0], "transpose")
    if inner is None:
        return None
    x, p = inner.operands[0], _perm(inner)
    perm = tuple(p[i] for i in _perm(node))
    if perm == tuple(range(len(perm))) and _same_type(x, node):
        return x
    return rebuilt(node, "transpose", [x], {"perm": perm})


def collapse_reshapes(node: Node, ctx: Context) -> Node | None:
    """reshape(reshape(x, s), t) = reshape(x, t'), where t' spells out what t's 0 entries copied."""
    inner = ctx.producer(node.operands[0], "reshape")
    if inner is None:
        return None
    x, mid, result = inner.operands[0], node.operands[0].type.shape, node.results[0].type
    if result.is_static:
        shape = list(result.shape)
    else:
        shape = []
        for i, s in enumerate(node.attrs["shape"]):
            if s == 0 and not isinstance(mid[i], int):
                # A copied symbol stays a 0 only if x has the same named symbol at that position.
                if not (isinstance(mid[i], str) and i < x.type.rank and x.type.shape[i] == mid[i]):
                    return None
                shape.append(0)
            else:
                shape.append(mid[i] if s == 0 else s)
    return rebuilt(node, "reshape", [x], {"shape": shape})


def _squeezed_axes(node: Node) -> tuple[int, ...]:
    """The operand axes a squeeze drops (normalized, sorted)."""
    t = node.operands[0].type
    if node.attrs["axes"] is None:
        return tuple(i for i, d in enumerate(t.shape) if d == 1)
    return tuple(sorted(a % t.rank for a in node.attrs["axes"]))


def _unsqueezed_axes(node: Node) -> tuple[int, ...]:
    """The result axes an unsqueeze inserts (normalized, sorted)."""
    rank = node.results[0].type.rank
    return tuple(sorted(a % rank for a in node.attrs["axes"]))


def squeeze_of_unsqueeze(node: Node, ctx: Context) -> Operand | None:
    inner = ctx.producer(node.operands[0], "unsqueeze")
    if inner is None or _squeezed_axes(node) != _unsqueezed_axes(inner):
        return None
    return inner.operands[0] if _same_type(inner.operands[0], node) else None


def unsqueeze_of_squeeze(node: Node, ctx: Context) -> Operand | None:
    inner = ctx.producer(node.operands[0], "squeeze")
    if inner is None or _unsqueezed_axes(node) != _squeezed_axes(inner):
        return None
    return inner.operands[0] if _same_type(inner.operands[0], node) else None


# ---- shape sub-graphs --------------------------------------------------------------------------------

def fold_shape_of(node: Node, ctx: Context) -> Param | None:
    """shape_of a statically shaped value is a constant; constant folding then folds what reads it."""
    t = node.operands[0].type
    if not t.is_static:
        return None
    return ctx.module.add_param(node.results[0].name or "shape", np.array(t.shape, np.int64))


# The rewrite table. There is no dropout op: the frontends drop inference dropout on import.
RULES: dict[str, tuple[Rewrite, ...]] = {
    "mul": (mul_by_one,),
    "add": (add_zero,),
    "sub": (sub_zero,),
    "div": (div_by_one,),
    "pow": (small_power,),
    "identity": (identity,),
    "cast": (same_type,),
    "expand": (same_type,),
    "concat": (same_type,),
    "reshape": (same_type, collapse_reshapes),
    "slice": (whole_slice,),
    "transpose": (identity_transpose, compose_transposes),
    "squeeze": (squeeze_of_unsqueeze,),
    "unsqueeze": (unsqueeze_of_squeeze,),
    "shape_of": (fold_shape_of,),
}
