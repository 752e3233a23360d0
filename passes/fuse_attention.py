"""fuse-attention: matmul(q, kT) [* c] [+ mask | where(mask, ., -inf)] -> softmax -> [NaN guard] -> matmul(., v)
becomes one scaled_dot_product_attention node, with scalar constant multipliers folded into its scale."""

# Conservative: every intermediate has exactly one user (the softmax two: torch's is_nan guard), and kT
# is transpose(x, perm) contracting x's last axis (the head dim), so k is x or an outer-axis transpose.

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import KernforgeError
from ..ir.graph import Function, Module, Node, Operand, Param, Value
from ..ir.ops import get_op
from ..ir.types import boolean
from .canonicalize import rebuilt
from .manager import register_pass

SDPA = "scaled_dot_product_attention"


@register_pass("fuse-attention")
def fuse_attention(module: Module) -> Module:
    """Fuse each attention pattern into one sdpa node: equal on every row that keeps a key; a row masked
    entirely by -inf gives NaN where torch's guard where(is_nan(p), 0, p) gave 0."""
    for func in module.functions.values():
        fuse_function(func)
    return module


@dataclass
class Match:
    """What one attention pattern binds: the sdpa operands, its scale and the nodes it replaces."""

    q: Operand
    k_source: Operand
    k_perm: list[int] | None  # None: k is k_source itself; else k = transpose(k_source, k_perm)
    v: Operand | None = None
    mask: Operand | None = None
    scale: float = 1.0
    dead: list[Node] = field(default_factory=list)


class Graph:
    """Producers and use counts of one function's top-level values, taken before any rewrite."""

    def __init__(self, func: Function):
        self.producers = {id(r): n for n in func.nodes for r in n.results}
        self.users = func.users()
        self.outputs = {id(v) for v in func.outputs}

    def sole(self, v: Operand, *ops: str, uses: int = 1) -> Node | None:
        """The producer of v when its op is one of ops and v (not a function output) has `uses` uses."""
        node = self.producers.get(id(v))
        if node is None or node.op not in ops or len(node.results) != 1:
            return None
        if id(v) in self.outputs or len(self.users.get(id(v), [])) != uses:
            return None
        return node


def fuse_function(func: Function) -> int:
    """Fuse every attention pattern of func's top-level nodes in place; returns how many were fused."""
    graph, dead, nodes, fused = Graph(func), set(), [], 0
    for node in func.nodes:
        match = match_attention(node, graph) if node.op == "matmul" else None
        new = build(node, match) if match is not None else None
        if new is None:
            nodes.append(node)
            continue
        nodes += new
        dead.update(id(n) for n in match.dead)
        fused += 1
    # Matched nodes all precede the final matmul, so they are already in `nodes`: drop them now.
    func.nodes = [n for n in nodes if id(n) not in dead]
    return fused


def match_attention(out: Node, g: Graph) -> Match | None:
    """The attention pattern ending at matmul `out` (probabilities @ v), or None."""
    p, v = out.operands
    if p.type.rank < 2 or v.type.rank < 2:
        return None
    dead = [out]
    softmax, guard = _softmax_and_guard(p, g)
    if softmax is None:
        return None
    dead += guard + [softmax]
    x = softmax.operands[0]
    if softmax.attrs.get("axis", -1) not in (-1, x.type.rank - 1) or not x.type.dtype.is_float:
        return None
    match = _masked_scores(x, g)
    if match is None:
        return None
    match.v = v
    match.dead += dead
    return match


def _softmax_and_guard(p: Operand, g: Graph) -> tuple[Node | None, list[Node]]:
    """The softmax producing p, directly or through torch's guard where(is_nan(s), 0, s)."""
    where = g.sole(p, "where")
    if where is None:
        return g.sole(p, "softmax"), []
    isnan_v, zero, s = where.operands
    isnan = g.sole(isnan_v, "is_nan")
    softmax = g.sole(s, "softmax", uses=2)
    if isnan is None or softmax is None or isnan.operands[0] is not s or where.results[0].type != s.type:
        return None, []
    c = _constant(zero)
    if c is None or c.size != 1 or float(c.reshape(())) != 0.0:
        return None, []
    return softmax, [where, isnan]


def _masked_scores(x: Operand, g: Graph) -> Match | None:
    """Scores with an optional additive float mask or where(bool mask, scores, very negative)."""
    node = g.sole(x, "add", "where")
    candidates: list[tuple[Operand, Operand | None]] = [(x, None)]
    if node is not None and node.op == "add":
        a, b = node.operands
        candidates = [(s, m) for s, m in ((a, b), (b, a)) if _is_float_mask(m, s, node)]
    elif node is not None and _is_bool_mask_where(node):
        candidates = [(node.operands[1], node.operands[0])]
    for s, mask in candidates:
        match = _scores(s, g)
        if match is not None:
            match.mask = mask
            match.dead += [node] if mask is not None else []
            return match
    return None


def _is_float_mask(mask: Operand, s: Operand, add: Node) -> bool:
    """mask is added to s without broadcasting s to a bigger shape, in s's float dtype."""
    return mask is not s and mask.type.dtype == s.type.dtype and add.results[0].type == s.type


def _is_bool_mask_where(where: Node) -> bool:
    """where(bool cond, s, c) with c -inf or a scalar constant at or below half s's lowest finite value:
    its exp underflows to 0 as -inf does, for every row that keeps a key."""
    cond, s, c = where.operands
    data = _constant(c)
    if cond.type.dtype != boolean or data is None or data.size != 1 or where.results[0].type != s.type:
        return False
    storage = s.type.dtype.numpy
    # Types NumPy has no finfo for (bf16, fp8 are stored as integers) accept only -inf.
    lowest = float(np.finfo(storage).min) / 2 if np.issubdtype(storage, np.floating) else -math.inf
    return float(data.reshape(())) <= lowest


def _scores(s: Operand, g: Graph) -> Match | None:
    """[scalar *] matmul([scalar *] q, [scalar *] transpose(x, perm)) with x's last axis contracted."""
    s, scale, dead = _peel_scale(s, g)
    qk = g.sole(s, "matmul") if s is not None else None
    if qk is None:
        return None
    q, q_scale, q_dead = _peel_scale(qk.operands[0], g)
    kt, k_scale, k_dead = _peel_scale(qk.operands[1], g)
    transpose = g.sole(kt, "transpose") if kt is not None else None
    if q is None or transpose is None or q.type.rank < 2 or kt.type.rank < 2:
        return None
    x = transpose.operands[0]
    perm = transpose.attrs.get("perm") or list(range(x.type.rank))[::-1]
    if perm[-2] != x.type.rank - 1:
        return None
    k_perm = [*perm[:-2], perm[-1], perm[-2]]
    k_perm = None if k_perm == sorted(k_perm) else k_perm
    return Match(q, x, k_perm, scale=scale * q_scale * k_scale,
                 dead=[qk, transpose, *dead, *q_dead, *k_dead])


def _peel_scale(v: Operand, g: Graph) -> tuple[Operand | None, float, list[Node]]:
    """(x, c, [node]) for v = x * c or x / c with c a finite scalar constant; (v, 1, []) when v is not
    a single-use mul/div; (None, ...) when it is one by anything else (no rewrite)."""
    node = g.sole(v, "mul", "div")
    if node is None:
        return v, 1.0, []
    for k in (0, 1) if node.op == "mul" else (0,):
        x, c = node.operands[k], node.operands[1 - k]
        data = _constant(c)
        if data is None or data.size != 1 or x.type != node.results[0].type or c.type.dtype != x.type.dtype:
            continue
        f = float(data.reshape(()))
        f = f if node.op == "mul" else (1 / f if f != 0 else math.inf)
        if math.isfinite(f):
            return x, f, [node]
    return None, 1.0, []


def _constant(v: Operand) -> np.ndarray | None:
    """A param's data when it is a plain (not quantized or sparse) constant."""
    if isinstance(v, Param) and v.data is not None and v.type.encoding is None:
        return np.asarray(v.data)
    return None


def build(out: Node, m: Match) -> list[Node] | None:
    """[transpose for k,] the sdpa node taking out's place; None when the types do not check out."""
    helpers, k = [], m.k_source
    if m.k_perm is not None:
        opdef = get_op("transpose")
        try:
            attrs = opdef.check_attrs({"perm": m.k_perm})
            (ktype,) = opdef.infer_types([k.type], attrs)
        except KernforgeError:
            return None
        t = Node("transpose", [k], attrs, [])
        t.results = [Value(ktype, None, t, 0)]
        helpers, k = [t], t.results[0]
    operands = [m.q, k, m.v] + ([m.mask] if m.mask is not None else [])
    sdpa = rebuilt(out, SDPA, operands, {"scale": float(np.float32(m.scale))})
    return None if sdpa is None else [*helpers, sdpa]
