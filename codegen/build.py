"""Compile a whole IR function: one PrimFunc per distinct kernel, one IRModule, one tvm.compile."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tvm

from ..errors import KernforgeError, UnsupportedOpError
from ..ir.graph import Function, Module, Param
from ..ir.layouts import physical_shape
from ..runtime.plan import Plan, Step, TensorSig, buffer_slot
from .kernel import KernelSpec, arg_packs, build_primfunc, kernel_spec, unsupported_ops
from .lower.registry import get_lowering
from .memory import plan_memory
from .schedules import apply_schedule
from .target import Target


def plan_function(func: Function, memory: bool = True) -> tuple[Plan, dict[str, KernelSpec]]:
    """Assign slots to every value, dedupe structurally identical kernels, then plan buffer memory."""
    missing = unsupported_ops(func.nodes)
    if missing:
        raise UnsupportedOpError(f"no TVM lowering for op(s): {', '.join(missing)}")
    plan, specs, by_key = Plan(), {}, {}
    slots: dict[int, str] = {id(a): f"in:{a.name}" for a in func.args}

    def slot(v, pack=None) -> str:
        if isinstance(v, Param):
            return f"param:{v.name}@{pack.name}" if pack else f"param:{v.name}"
        return slots[id(v)]

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
            slots[id(r)] = buffer_slot(i, j)
            plan.buffers[slots[id(r)]] = (list(physical_shape(r.type)), r.type.dtype.name)
            outs.append(slots[id(r)])
        plan.steps.append(Step(name, [slot(v, spec.packs.get(j)) for j, v in enumerate(node.operands)], outs))
    plan.output_slots = [slot(v) for v in func.outputs]
    sig = lambda n, v: TensorSig(n, list(v.type.shape), v.type.dtype.name, v.type.layout)
    plan.inputs = [sig(n, a) for n, a in zip(func.input_names, func.args)]
    plan.outputs = [sig(n, v) for n, v in zip(func.output_names, func.outputs)]
    return (plan_memory(plan) if memory else plan), specs


def plan_params(plan: Plan, module: Module) -> dict[str, np.ndarray]:
    """The arrays of every `param:` slot the plan reads; `<name>@<layout>` ones are packed here, once."""
    packs = {f"{v.name}@{p.name}": (v, p) for node in module.main.nodes
             for j, p in arg_packs(node).items() for v in [node.operands[j]]}
    read = {s for step in plan.steps for s in step.inputs} | set(plan.output_slots)
    out = {}
    for slot in sorted(s[len("param:"):] for s in read if s.startswith("param:")):
        v, pack = packs.get(slot, (module.params.get(slot), None))
        out[slot] = pack.pack(np.asarray(v.data)) if pack else np.asarray(v.data)
    return out


def compile_kernels(specs: dict[str, KernelSpec], target: Target,
                    progress: Callable[[str], None] | None = None):
    """Lower and schedule every kernel, then build them all in one tvm.compile call."""
    funcs = {}
    for name, spec in specs.items():
        _check_features(spec, target)
        if progress:
            progress(name)
        scheduled = apply_schedule(build_primfunc(spec, name, target), spec.rule, target)
        funcs[name] = scheduled["main"].with_attr("global_symbol", name)
    return tvm.compile(tvm.IRModule(funcs), target=target.tvm())


def _check_features(spec: KernelSpec, target: Target) -> None:
    """A clear error when a kernel's hand-written intrinsics need a CPU feature the target lacks."""
    for node in spec.body.nodes:
        lower = get_lowering(node.op)
        need = lower.requires(node.attrs) if lower.requires else None
        if need == "avx2" and (target.kind != "llvm" or target.vector_bits < 256):
            raise KernforgeError(f"{node.op} {node.attrs} uses AVX2 integer instructions; target {target.describe()} "
                                 "lacks them (use a weight-only scheme, or an AVX2 target such as mcpu=znver3)")
