"""plan-memory: liveness, storage reuse and in-place elementwise updates for a plan's activation buffers.

It lives in codegen, not passes/ or runtime/: it rewrites the execution plan (not the IR) at compile time
and reads the op registry (codegen -> ir is allowed); the runtime only consumes its result as plain data
(`Plan.storage`, `Plan.buffer_storage`), so runtime never imports codegen. Pure Python: no TVM import.
"""

from __future__ import annotations

import math

from ..errors import KernforgeError
from ..ir.ops import BROADCAST, ELEMWISE, get_op
from ..ir.types import DTYPES
from ..runtime.plan import Plan

Range = tuple[int, int]  # (first step that writes the buffer, last step that needs it), inclusive

# Ops whose every operand is read at (a broadcast of) the output index: the only ones that may write
# over an operand. A kernel of only these, with the operand's exact shape, reads it index-aligned.
_INPLACE_KINDS = (ELEMWISE, BROADCAST)


def buffer_nbytes(shape: list, dtype: str) -> int | None:
    """Bytes the executor allocates for a buffer (sub-byte ints take a byte); None if not static."""
    if not all(isinstance(d, int) for d in shape):
        return None
    return math.prod(shape) * DTYPES[dtype].byte_storage.itemsize


def live_ranges(plan: Plan) -> dict[str, Range]:
    """Each activation buffer's (write step, last read step); model outputs live to the end."""
    ranges: dict[str, list[int]] = {}
    for s, step in enumerate(plan.steps):
        for slot in step.inputs:
            if slot in ranges:
                ranges[slot][1] = s
        for slot in step.outputs:
            if slot in plan.buffers:
                ranges[slot] = [s, s]  # a result nobody reads still needs memory while its kernel runs
    end = len(plan.steps)
    for slot in plan.output_slots:
        if slot in ranges:
            ranges[slot][1] = end
    return {k: (a, b) for k, (a, b) in ranges.items()}


def inplace_safe(plan: Plan, kernel: str) -> bool:
    """Whether a kernel may write its single output over one of its same-shape operands."""
    try:
        return all(get_op(op).fusion in _INPLACE_KINDS for op in plan.kernels[kernel]["ops"])
    except (KernforgeError, KeyError):
        return False  # an op or kernel we know nothing about: be safe


def inplace_pairs(plan: Plan, ranges: dict[str, Range]) -> dict[str, str]:
    """Output slot -> the operand slot whose storage it reuses: an operand that dies at that step."""
    outputs = set(plan.output_slots)
    pairs: dict[str, str] = {}
    for s, step in enumerate(plan.steps):
        if len(step.outputs) != 1 or not inplace_safe(plan, step.kernel):
            continue
        out = step.outputs[0]
        for slot in step.inputs:
            if (slot in ranges and slot not in outputs and ranges[slot][1] == s
                    and plan.buffers[slot] == plan.buffers[out]):
                pairs[out] = slot
                break
    return pairs


def _groups(slots: list[str], pairs: dict[str, str]) -> dict[str, list[str]]:
    """Chains of in-place updates share one storage: root slot -> members, in write order."""
    root: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for slot in slots:  # in write order, so a donor is placed before its receiver
        r = root[slot] = root[pairs[slot]] if slot in pairs else slot
        groups.setdefault(r, []).append(slot)
    return groups


def _overlaps(a: Range, b: Range) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def assign_storage(sizes: dict[str, int], ranges: dict[str, Range],
                   pairs: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, int]]:
    """Greedy best fit, largest first: each unit goes to the smallest storage free over its live range."""
    order = sorted(sizes, key=lambda k: ranges[k][0])
    units = []
    for members in _groups(order, pairs or {}).values():
        span = (min(ranges[m][0] for m in members), max(ranges[m][1] for m in members))
        units.append((max(sizes[m] for m in members), span, members))
    units.sort(key=lambda u: (-u[0], u[1][0]))
    storage: dict[str, int] = {}
    busy: dict[str, list[Range]] = {}
    where: dict[str, str] = {}
    for size, span, members in units:
        free = [sid for sid in storage if not any(_overlaps(span, r) for r in busy[sid])]
        # Largest first: every existing storage is big enough; the smallest wastes least.
        sid = min(free, key=lambda k: (storage[k], int(k[1:])), default=None)
        if sid is None:
            sid = f"s{len(storage)}"
            storage[sid], busy[sid] = size, []
        busy[sid].append(span)
        where.update((m, sid) for m in members)
    return where, storage


def plan_memory(plan: Plan, inplace: bool = True) -> Plan:
    """Fill `plan.storage` and `plan.buffer_storage`; buffers without a static size keep their own memory."""
    ranges = live_ranges(plan)
    sizes = {}
    for slot in ranges:
        n = buffer_nbytes(*plan.buffers[slot])
        if n:  # zero-size and dynamic buffers are left to the executor's own allocation
            sizes[slot] = n
    ranges = {k: r for k, r in ranges.items() if k in sizes}
    pairs = inplace_pairs(plan, ranges) if inplace else {}
    plan.buffer_storage, plan.storage = assign_storage(sizes, ranges, pairs)
    return plan


def memory_stats(plan: Plan) -> dict[str, int]:
    """Naive (one allocation per buffer) and planned activation bytes, and how many storages there are."""
    sizes = {k: buffer_nbytes(*v) or 0 for k, v in plan.buffers.items()}
    own = sum(n for k, n in sizes.items() if k not in plan.buffer_storage)
    return {"naive_activation_bytes": sum(sizes.values()),
            "peak_activation_bytes": own + sum(plan.storage.values()),
            "activation_buffers": len(sizes),
            "storages": len(plan.storage) + sum(1 for k in sizes if k not in plan.buffer_storage)}
