"""Schedule rules by (target kind, rule name); each takes an s_tir Schedule and a Target."""

from __future__ import annotations

from collections.abc import Callable

from ...errors import UnsupportedOpError

SCHEDULES: dict[tuple[str, str], Callable] = {}


def schedule_rule(kind: str, *rules: str):
    def wrap(fn):
        for rule in rules:
            SCHEDULES[(kind, rule)] = fn
        return fn

    return wrap


def apply_schedule(primfunc, rule: str, target):
    """Schedule a PrimFunc with the target's rule; returns the scheduled IRModule."""
    import tvm

    from . import cpu, cpu_block, cpu_conv, cpu_linalg, cpu_nm, cpu_quant  # noqa: F401  (register the llvm rules; cpu_block wraps conv2d)

    fn = SCHEDULES.get((target.kind, rule))
    if fn is None:
        raise UnsupportedOpError(f"no '{rule}' schedule rule for target {target.kind}")
    sch = tvm.s_tir.Schedule(primfunc)
    fn(sch, target)
    return sch.mod
