"""Facts about blocks in an s_tir Schedule that the rules share."""

from __future__ import annotations

from tvm import tirx
from tvm.s_tir import ScheduleError

REDUCE_ITER = 2  # IterVar.CommReduce


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
