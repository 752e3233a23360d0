"""Roofline accounting: per-kernel FLOPs and bytes from the final IR, achieved rates and roofline bounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import KernforgeError
from ..ir.graph import Function, Module, Node
from ..ir.ops import get_op
from ..ir.parser import parse_module
from .peaks import Peaks
from .plan import Step, slot_node


@dataclass(frozen=True)
class KernelCost:
    """Work of one kernel call: arithmetic operations and bytes its operands and results occupy."""

    flops: int
    bytes: int


@dataclass(frozen=True)
class KernelRoofline:
    """One timed kernel call set against the machine's roofs; times in seconds."""

    step: int
    kernel: str
    time_s: float
    flops: int
    bytes: int
    bound_s: float

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.time_s / 1e9 if self.time_s > 0 else 0.0

    @property
    def gbytes_per_s(self) -> float:
        return self.bytes / self.time_s / 1e9 if self.time_s > 0 else 0.0

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per byte."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def percent_of_peak(self) -> float:
        """max(achieved / peak GFLOP/s, achieved / peak GB/s), in percent: equal to bound / time."""
        return 100.0 * self.bound_s / self.time_s if self.time_s > 0 else 0.0

    @property
    def gap_s(self) -> float:
        return self.time_s - self.bound_s


def node_flops(node: Node) -> int:
    """FLOPs of one node; a `fused` node counts the ops of its region (nested regions too)."""
    if node.region is not None:
        return sum(node_flops(n) for n in node.region.nodes)
    return get_op(node.op).count_flops([v.type for v in node.operands], [r.type for r in node.results],
                                       node.attrs)


def node_bytes(node: Node) -> int:
    """Bytes of the node's operands (params included) and results: a lower bound on its memory traffic.

    Each tensor is counted once, as if read or written exactly once; cache misses, re-reads of tiles
    and a fused kernel's spills are not seen, and intermediates inside a fused region are free."""
    return sum(v.type.nbytes for v in node.operands) + sum(r.type.nbytes for r in node.results)


def function_costs(func: Function) -> list[KernelCost]:
    """One KernelCost per node of the function, in order."""
    return [KernelCost(node_flops(n), node_bytes(n)) for n in func.nodes]


def step_costs(ir: str | Module, steps: Sequence[Step] | None = None) -> list[KernelCost]:
    """Costs of every kernel call of a compiled model, from its final IR (text or Module): one per node,
    or one per plan step, each the node that produces the step's outputs (the plan drops the nodes of
    concats whose producers write into their result)."""
    module = parse_module(ir, "<final ir>") if isinstance(ir, str) else ir
    costs = function_costs(module.main)
    if steps is None:
        return costs
    nodes = [slot_node(step.outputs[0]) if step.outputs else None for step in steps]
    bad = next((s for s, i in zip(steps, nodes) if i is None or not 0 <= i < len(costs)), None)
    if bad is not None:
        raise KernforgeError(f"plan step {bad.kernel} writes {bad.outputs}, which no node of the final IR "
                             f"({len(costs)} kernel nodes) produces")
    return [costs[i] for i in nodes]


def bound_seconds(cost: KernelCost, peaks: Peaks) -> float:
    """Roofline time: the slower of computing at peak GFLOP/s and moving the bytes at peak GB/s."""
    return max(cost.flops / (peaks.gflops * 1e9), cost.bytes / (peaks.gbps * 1e9))


def roofline_rows(times: Sequence[dict], costs: Sequence[KernelCost], peaks: Peaks) -> list[KernelRoofline]:
    """Join Executor.profile rows (step, kernel, median_s) with the step costs, in plan order."""
    if len(times) != len(costs):
        raise KernforgeError(f"{len(times)} timed steps but {len(costs)} step costs")
    return [KernelRoofline(t["step"], t["kernel"], t["median_s"], c.flops, c.bytes, bound_seconds(c, peaks))
            for t, c in zip(times, costs)]


def waterline(rows: Sequence[KernelRoofline]) -> tuple[float, float]:
    """(sum of roofline bounds, sum of measured times) in seconds: the model's floor and its actual time."""
    return sum(r.bound_s for r in rows), sum(r.time_s for r in rows)


def ridge_point(peaks: Peaks) -> float:
    """Arithmetic intensity (FLOPs/byte) where the bandwidth roof meets the compute roof."""
    return peaks.gflops / peaks.gbps
