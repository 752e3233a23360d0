"""Compile a whole IR function: one PrimFunc per distinct kernel, one IRModule, one tvm.compile."""

from __future__ import annotations

from collections.abc import Callable

import tvm

from ..errors import UnsupportedOpError
from ..ir.graph import Function, Param
from ..runtime.plan import Plan, Step, TensorSig
from .kernel import KernelSpec, build_primfunc, kernel_spec, unsupported_ops
from .schedules import apply_schedule
from .target import Target


def plan_function(func: Function) -> tuple[Plan, dict[str, KernelSpec]]:
    """Assign slots to every value and dedupe structurally identical kernels."""
    missing = unsupported_ops(func.nodes)
    if missing:
        raise UnsupportedOpError(f"no TVM lowering for op(s): {', '.join(missing)}")
    plan, specs, by_key = Plan(), {}, {}
    slots: dict[int, str] = {id(a): f"in:{a.name}" for a in func.args}

    def slot(v) -> str:
        return f"param:{v.name}" if isinstance(v, Param) else slots[id(v)]

    for i, node in enumerate(func.nodes):
        spec = kernel_spec(node)
        name = by_key.get(spec.key)
        if name is None:
            name = by_key[spec.key] = f"k{len(specs)}_{spec.anchor}"
            specs[name] = spec
            plan.kernels[name] = {"rule": spec.rule, "anchor": spec.anchor,
                                  "ops": [n.op for n in spec.body.nodes]}
        outs = []
        for j, r in enumerate(node.results):
            slots[id(r)] = f"buf:{i}.{j}"
            plan.buffers[slots[id(r)]] = (list(r.type.shape), r.type.dtype.name)
            outs.append(slots[id(r)])
        plan.steps.append(Step(name, [slot(v) for v in node.operands], outs))
    plan.output_slots = [slot(v) for v in func.outputs]
    plan.inputs = [TensorSig(n, list(a.type.shape), a.type.dtype.name) for n, a in zip(func.input_names, func.args)]
    plan.outputs = [TensorSig(n, list(v.type.shape), v.type.dtype.name)
                    for n, v in zip(func.output_names, func.outputs)]
    return plan, specs


def compile_kernels(specs: dict[str, KernelSpec], target: Target,
                    progress: Callable[[str], None] | None = None):
    """Lower and schedule every kernel, then build them all in one tvm.compile call."""
    funcs = {}
    for name, spec in specs.items():
        if progress:
            progress(name)
        scheduled = apply_schedule(build_primfunc(spec, name), spec.rule, target)
        funcs[name] = scheduled["main"].with_attr("global_symbol", name)
    return tvm.compile(tvm.IRModule(funcs), target=target.tvm())
