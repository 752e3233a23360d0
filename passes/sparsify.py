"""sparsify=<scheme>[-prune]: sparse storage and kernels for the constant weights of dense, matmul, gemm
and 1x1 conv layers.

Schemes (ir/sparsity.py): N:M (2:4, 1:4, 2:8, ...), bsr:<R>x<C>[:<sparsity>], unstructured[:<sparsity>].
Without -prune, weights that already have the pattern are detected; with it, weights are magnitude-
pruned to it first (which changes the model). The cost rule keeps a weight dense above its format's
break-even density; each decision is printed (stderr), and sparse nodes carry their density.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass

from ..ir.graph import Module
from ..ir.sparsity import SparsityScheme, add_params, break_even, fits, pack, prune, stored_density
from .linear_weights import LinearWeight, bias, conv1x1_weight, dense_weight
from .manager import register_pass
from .target_traits import current_traits


@dataclass(frozen=True)
class SparsifyOption:
    scheme: SparsityScheme
    prune: bool

    @staticmethod
    def parse(option: str) -> SparsifyOption:
        text = option.strip()
        pruning = text.endswith("-prune")
        return SparsifyOption(SparsityScheme.parse(text.removesuffix("-prune")), pruning)


@register_pass("sparsify", option="2:4")
def sparsify(module: Module, option: str) -> Module:
    """Sparse weights (option: 2:4, bsr:16x1:0.8, unstructured:0.9, ...; suffix -prune prunes first)."""
    opt = SparsifyOption.parse(option)
    decisions = [_sparsify_one(module, lw, opt) for lw in sparsify_targets(module)]
    if decisions:
        print(f"sparsify {option}\n{decision_table(decisions)}", file=sys.stderr)
    return module


def decision_table(decisions: list[tuple[tuple[int, int], str]]) -> str:
    """One line per decision: how many layers took it, and their weight shapes."""
    by: dict[str, Counter] = {}
    for shape, what in decisions:
        by.setdefault(what, Counter())[shape] += 1
    return "\n".join(f"  {sum(c.values())} x {what}: " + ", ".join(
        f"{n}x{k}" + (f" (x{count})" if count > 1 else "") for (n, k), count in c.items()) for what, c in by.items())


def sparsify_targets(module: Module) -> list[LinearWeight]:
    return [lw for func in module.functions.values() for node in func.nodes
            for lw in [dense_weight(node) or conv1x1_weight(node)] if lw is not None]


def input_rows(lw: LinearWeight) -> int | None:
    """How many vectors the weight multiplies: the input's size over all but the contracted axis."""
    t = lw.node.operands[0].type
    dims = [d for i, d in enumerate(t.shape) if i != lw.axis % t.rank]
    return math.prod(dims) if all(isinstance(d, int) for d in dims) else None


def _break_even(lw: LinearWeight, shape: tuple[int, int], scheme: SparsityScheme, rows: int | None) -> float:
    """The target's lookup N:M GEMM's break-even where that kernel takes the layer, else the
    target-independent one (ir/sparsity.py)."""
    fast, rank = current_traits().lookup_nm_gemm, lw.node.operands[0].type.rank
    if (scheme.kind == "nm" and fast is not None and rows is not None and lw.axis % rank == rank - 1
            and fast.covers(scheme.m, rows, shape[1], shape[0])):
        return fast.break_even
    return break_even(scheme, rows)


def _sparsify_one(module: Module, lw: LinearWeight, opt: SparsifyOption) -> tuple[tuple[int, int], str]:
    """Rewrite one layer (or keep it dense); returns its weight shape and the decision."""
    node, param = lw.node, lw.node.operands[1]
    w = prune(lw.weight, opt.scheme) if opt.prune else lw.weight
    if not fits(w, opt.scheme):
        return w.shape, f"dense (no {opt.scheme} pattern)"
    kept, rows = stored_density(w, opt.scheme), input_rows(lw)
    limit = _break_even(lw, w.shape, opt.scheme, rows)
    if kept > limit:
        if opt.prune:  # the pruned weight stays, in dense storage
            node.operands[1] = module.add_param(f"{param.name}_pruned", lw.stored(w))
        return w.shape, (f"dense (density {kept:.2f} is above the {opt.scheme.kind} break-even "
                         f"{limit:.2f} at {rows or 'unknown'} input rows)")
    b = bias(node)
    operands = add_params(module, param.name, pack(w, opt.scheme))
    node.operands = [node.operands[0], *operands, *([b] if b is not None else [])]
    attrs = {"outputs": w.shape[0], "axis": lw.axis}
    if opt.scheme.kind == "nm":
        attrs.update(n=opt.scheme.n, m=opt.scheme.m)
    node.op, node.attrs = f"{opt.scheme.kind}_linear", attrs
    return w.shape, f"{opt.scheme.kind}_linear (density {kept:.2f})"
