"""plan-memory: liveness, storage reuse, in-place elementwise updates and in-place concats for a plan's
activation buffers.

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
# A kernel's buffer must start on this byte boundary (TVM's requirement for an array it is handed).
REGION_ALIGN = 64


def buffer_nbytes(shape: list, dtype: str) -> int | None:
    """Bytes the executor allocates for a buffer (sub-byte ints take a byte); None if not static."""
    if not all(isinstance(d, int) for d in shape):
        return None
    return math.prod(shape) * DTYPES[dtype].byte_storage.itemsize


def live_ranges(plan: Plan, root=lambda slot: slot) -> dict[str, Range]:
    """Each activation buffer's (write step, last read step); model outputs live to the end. With
    `root`, buffers that are regions of another (in-place concat operands) count as that one."""
    ranges: dict[str, list[int]] = {}
    for s, step in enumerate(plan.steps):
        for slot in map(root, step.inputs):
            if slot in ranges:
                ranges[slot][1] = s
        for slot in step.outputs:
            if slot in plan.buffers:
                # a result nobody reads still needs memory while its kernel runs
                ranges.setdefault(root(slot), [s, s])[1] = s
    end = len(plan.steps)
    for slot in map(root, plan.output_slots):
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
    """Output slot -> the operand slot whose storage it reuses: an operand that dies at that step (a
    region of a concat's result has no range of its own, so it never donates)."""
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
    """Fill `plan.storage`, `plan.buffer_storage` and `plan.buffer_offset`; buffers without a static size
    keep their own memory. With `inplace`, concats whose operands can be written in place are dropped."""
    regions = drop_inplace_concats(plan) if inplace else {}
    root = lambda slot: regions[slot][0] if slot in regions else slot  # noqa: E731
    ranges = live_ranges(plan, root)
    sizes = {}
    for slot in ranges:
        n = buffer_nbytes(*plan.buffers[slot])
        if n:  # zero-size and dynamic buffers are left to the executor's own allocation
            sizes[slot] = n
    ranges = {k: r for k, r in ranges.items() if k in sizes}
    pairs = inplace_pairs(plan, ranges) if inplace else {}
    plan.buffer_storage, plan.storage = assign_storage(sizes, ranges, pairs)
    for slot, (whole, offset) in regions.items():
        plan.buffer_storage[slot] = plan.buffer_storage[whole]
        plan.buffer_offset[slot] = offset
    return plan


def drop_inplace_concats(plan: Plan) -> dict[str, tuple[str, int]]:
    """Concats whose operands all fit as aligned regions of the result: the producers write straight
    into the result, the concat steps leave the plan. Returns slot -> (outermost buffer, byte offset)."""
    regions: dict[str, tuple[str, int]] = {}
    produced = {o for step in plan.steps for o in step.outputs}
    dropped = set()
    for step in plan.steps:
        offsets = _concat_offsets(plan, step)
        if offsets is None or len(set(step.inputs)) != len(step.inputs) or any(
                s in regions or s not in produced or s in plan.output_slots for s in step.inputs):
            continue
        regions.update((s, (step.outputs[0], off)) for s, off in zip(step.inputs, offsets))
        dropped.add(id(step))
    plan.steps = [s for s in plan.steps if id(s) not in dropped]
    used = {s.kernel for s in plan.steps}
    plan.kernels = {k: v for k, v in plan.kernels.items() if k in used}

    def outermost(slot: str, offset: int) -> tuple[str, int]:  # a concat of concats: offsets add up
        while slot in regions:
            slot, more = regions[slot]
            offset += more
        return slot, offset

    return {s: outermost(whole, off) for s, (whole, off) in regions.items()}


def _concat_offsets(plan: Plan, step) -> list[int] | None:
    """Byte offsets of a lone concat's operands in its result, when each is one contiguous, aligned
    region of it (every axis before the concat axis is 1), else None."""
    if plan.kernels.get(step.kernel, {}).get("ops") != ["concat"] or len(step.outputs) != 1:
        return None
    if any(s not in plan.buffers for s in (*step.inputs, step.outputs[0])):
        return None
    out_shape, dt = plan.buffers[step.outputs[0]]
    shapes = [plan.buffers[s][0] for s in step.inputs]
    sizes = [buffer_nbytes(shape, dt) for shape in shapes]
    if (buffer_nbytes(out_shape, dt) is None or None in sizes or any(len(sh) != len(out_shape) for sh in shapes)
            or any(plan.buffers[s][1] != dt for s in step.inputs)):
        return None
    axis = next((d for d, n in enumerate(out_shape) if any(sh[d] != n for sh in shapes)), None)
    if axis is None or math.prod(out_shape[:axis]) != 1 or sum(sh[axis] for sh in shapes) != out_shape[axis]:
        return None
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    return offsets if all(off % REGION_ALIGN == 0 for off in offsets) else None


def memory_stats(plan: Plan) -> dict[str, int]:
    """Naive (one allocation per buffer) and planned activation bytes, and how many storages there are."""
    sizes = {k: buffer_nbytes(*v) or 0 for k, v in plan.buffers.items()}
    own = sum(n for k, n in sizes.items() if k not in plan.buffer_storage)
    return {"naive_activation_bytes": sum(sizes.values()),
            "peak_activation_bytes": own + sum(plan.storage.values()),
            "activation_buffers": len(sizes),
            "storages": len(plan.storage) + sum(1 for k in sizes if k not in plan.buffer_storage)}
