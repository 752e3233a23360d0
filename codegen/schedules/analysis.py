"""Facts about blocks in an s_tir Schedule that the rules share."""

from __future__ import annotations

from tvm import tirx
from tvm.s_tir import ScheduleError
from tvm.sym.analyzer import Analyzer

REDUCE_ITER = 2  # IterVar.CommReduce
SPATIAL, REDUCE = "S", "R"  # loop kinds (loop_kinds)


def blocks(sch) -> list:
    return list(sch.get_child_blocks(sch.get_sblock("root")))


def is_reduction(sch, block) -> bool:
    return any(int(iv.iter_type) == REDUCE_ITER for iv in sch.get(block).iter_vars)


def is_output(sch, block) -> bool:
    params = list(sch.mod["main"].params)
    return any(w.source.same_as(p) for w in sch.get(block).writes for p in params)


def extent(sch, loop) -> int | None:
    e = sch.get(loop).extent
    return int(e) if isinstance(e, tirx.IntImm) else None


def inline_all(sch, keep=(), skip=None) -> None:
    """Inline every non-output, non-reduction block (pads, broadcasts, casts) into its consumers, but
    the blocks in `keep` and those the predicate `skip(sch, block)` names."""
    changed = True
    while changed:
        changed = False
        for b in blocks(sch):
            if is_output(sch, b) or is_reduction(sch, b) or any(sch.get(b).same_as(sch.get(k)) for k in keep) \
                    or (skip is not None and skip(sch, b)):
                continue
            try:
                sch.compute_inline(b)
                changed = True
            except ScheduleError:
                continue


def try_reverse_inline(sch, block) -> bool:
    try:
        sch.reverse_compute_inline(block)
        return True
    except ScheduleError:
        return False


_OPERANDS = ("a", "b", "args", "value", "indices", "condition", "true_value", "false_value")


def subexpressions(expr) -> list:
    """Every node of an expression tree (the expression itself included)."""
    found, stack = [], [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (list, tuple)) or type(e).__name__ == "Array":
            stack.extend(e)
            continue
        found.append(e)
        stack.extend(v for f in _OPERANDS if not isinstance(v := getattr(e, f, None), (type(None), int, float)))
    return found


def branch_conditions(expr) -> list:
    """The conditions of every if_then_else and select inside an expression (a concat's or a pad's branches)."""
    return [e.args[0] if hasattr(e, "args") else e.condition for e in subexpressions(expr)
            if getattr(getattr(e, "op", None), "name", None) == "prim.if_then_else" or hasattr(e, "true_value")]


def plain_trailing_loops(sch, block, loops) -> int:
    """How many innermost loops (not all) every access of the block indexes as-is over whole buffer
    axes: fused, they walk contiguous memory in every buffer."""
    iters, accesses = loop_iters(sch, block), [*sch.get(block).reads, *sch.get(block).writes]
    analyzer = Analyzer()  # reshape index math reads `(w // 56 + h) % 56` for h: simplify within the domains
    for iv in sch.get(block).iter_vars:
        analyzer.bind(iv.var, iv.dom)

    def plain(j: int) -> bool:
        iv, size = iters[-j], extent(sch, loops[-j])
        return iv is not None and size is not None and all(
            len(a.region) >= j and analyzer.can_prove_equal(a.region[-j].min, iv.var)
            and int(a.source.shape[-j]) == size for a in accesses)

    k = 0
    while k < len(loops) - 1 and plain(k + 1):
        k += 1
    return k


def branches_on_lane_remainder(sch, block, loop) -> bool:
    """Whether an if_then_else or select in the block tests a division or remainder of an index that
    the loop changes (a concat of the axis a reshape split)."""
    moved = {iv.var for iv in iters_moved_by(sch, block, loop)}
    return any(type(e).__name__ in ("FloorMod", "FloorDiv") and any(u in moved for u in expr_vars(e))
               for c in branch_conditions(sch.get(block).body) for e in subexpressions(c))


def reads_through_index_math(sch, block) -> bool:
    """Whether some read index is an expression (a reshape's flattening, a shuffle), not a loop's var."""
    return any(not isinstance(r.min, (tirx.Var, tirx.IntImm)) for read in sch.get(block).reads for r in read.region)


def bindings(sch, block) -> list:
    """(iter var, bound value) pairs of a block, read from its BlockRealize."""
    body = sch.get(sch.get_loops(block)[-1]).body
    for stmt in getattr(body, "seq", [body]):
        if hasattr(stmt, "block") and stmt.block.same_as(sch.get(block)):
            return list(zip(stmt.block.iter_vars, stmt.iter_values))
    return []


def loop_iters(sch, block) -> list:
    """For each loop of the block, the iter var it is bound to as is (None if none, or an expression)."""
    pairs = bindings(sch, block)
    return [next((iv for iv, v in pairs if v.same_as(sch.get(lp).loop_var)), None) for lp in sch.get_loops(block)]


def loop_kinds(sch, block) -> list:
    """For each loop of the block: REDUCE if it feeds a reduce iter var, SPATIAL if only spatial ones
    (None for all when the bindings cannot be found: nothing is then assumed)."""
    pairs = bindings(sch, block)
    if not pairs:
        return [None] * len(sch.get_loops(block))
    return [REDUCE if any(int(iv.iter_type) == REDUCE_ITER for iv in iters_moved_by(sch, block, lp, pairs))
            else SPATIAL for lp in sch.get_loops(block)]


def expr_vars(expr) -> list:
    return list(tirx.analysis.undefined_vars(expr, []))


def iters_moved_by(sch, block, loop, pairs=None) -> list:
    """The block's iter vars whose bound value uses the loop's var."""
    var, pairs = sch.get(loop).loop_var, pairs if pairs is not None else bindings(sch, block)
    return [iv for iv, v in pairs if any(u.same_as(var) for u in expr_vars(v))]
