"""The Python API: kernforge.compile(...) -> CompiledModel, and kernforge.load(path)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__
from .errors import KernforgeError
from .ir import Module, parse_module, verify
from .ir.printer import print_module
from .ir.specialize import bind_symbols, specialize
from .ir.target_traits import TargetTraits


def _import_model(model: Any, input_shapes, example_inputs) -> Module:
    """An IR Module, IR text path, ONNX path/bytes/ModelProto, or torch.nn.Module with example_inputs."""
    if isinstance(model, Module):
        return model
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise KernforgeError(f"model file not found: {path}")
        if path.endswith((".kf.txt", ".kf")):
            with open(path) as f:
                return parse_module(f.read(), path)
    if type(model).__module__.startswith("torch") or _is_torch_module(model):
        if example_inputs is None:
            raise KernforgeError("a torch module needs example_inputs=(tensor, ...) to be traced")
        from .frontends import from_torch

        return from_torch(model, example_inputs)
    from .frontends import from_onnx

    return from_onnx(model, input_shapes)


def _is_torch_module(model: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


@dataclass
class BenchmarkResult:
    """Latency statistics over n runs, in milliseconds."""

    median_ms: float
    mean_ms: float
    std_ms: float
    p10_ms: float
    p90_ms: float
    n: int

    def __str__(self) -> str:
        return f"median {self.median_ms:.3f} ms (p10 {self.p10_ms:.3f}, p90 {self.p90_ms:.3f}, n={self.n})"


class CompiledModel:
    """A compiled model: call it with NumPy arrays; save it as one `.kfa` file."""

    def __init__(self, executor, lib, ir_text: str, meta: dict, lib_so: bytes | None = None):
        # lib_so: the library's bytes when loaded from an artifact (a loaded library cannot be re-exported).
        self.executor, self._lib, self._ir, self.meta, self._lib_so = executor, lib, ir_text, meta, lib_so

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.executor.plan.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.executor.plan.outputs]

    def run(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs by name (or in order); outputs as a dict by name, in order."""
        return self.executor.run(inputs)

    def __call__(self, *args: np.ndarray, **kwargs: np.ndarray):
        if args and kwargs:
            raise KernforgeError("pass inputs either positionally or by name, not both")
        outs = list(self.run(kwargs if kwargs else list(args)).values())
        return outs[0] if len(outs) == 1 else tuple(outs)

    def ir(self) -> str:
        return self._ir

    def benchmark(self, n: int = 50, warmup: int = 5, inputs=None) -> BenchmarkResult:
        """Time n runs of the kernels (inputs bound once); random inputs when none are given."""
        self.executor.bind(inputs if inputs is not None else self.random_inputs())
        for _ in range(warmup):
            self.executor.execute()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.executor.execute()
            times.append((time.perf_counter() - t0) * 1e3)
        t = np.array(times)
        return BenchmarkResult(float(np.median(t)), float(t.mean()), float(t.std()),
                               float(np.percentile(t, 10)), float(np.percentile(t, 90)), n)

    def random_inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        from .ir.types import DTYPES

        rng = np.random.default_rng(seed)
        out = {}
        for s in self.executor.plan.inputs:
            dt = DTYPES[s.dtype]
            data = rng.standard_normal(s.shape) if dt.is_float else rng.integers(0, 2, s.shape)
            out[s.name] = data.astype(dt.numpy)
        return out

    def save(self, path: str) -> None:
        from .runtime.artifact import library_bytes, save_artifact

        if self._lib_so is None:
            self._lib_so = library_bytes(self._lib)
        save_artifact(path, self._lib_so, self.executor.plan, self.executor.param_arrays, self._ir, self.meta)

    def __repr__(self) -> str:
        return f"CompiledModel(inputs={self.input_names}, outputs={self.output_names}, target={self.meta['target']})"


def _progress(total: int, desc: str, unit: str = "kernel"):
    """A tqdm bar on a terminal, silent otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not sys.stderr.isatty(), leave=False)


def traits_of(target) -> TargetTraits:
    """What the weight passes' cost rules should know of a target's kernels (a codegen Target, a dict, or None:
    this CPU); run prepare() inside passes.target_traits.target_traits(...) of it to get compile's IR."""
    from .codegen.lower.nm_gemm import lookup_nm_gemm
    from .codegen.lower.quant_gemv_bf16 import dense_low_bit_gemv
    from .codegen.target import resolve_target

    tgt = resolve_target(target)
    return TargetTraits(dense_low_bit_gemv(tgt), lookup_nm_gemm(tgt))


def prepare(model: Any, input_shapes=None, opt_level: int = 2, dump_ir: str | None = None,
            example_inputs=None, pipeline: str | None = None, quantize: str | None = None,
            calibration: Sequence | None = None, sparsity: str | None = None, prune: bool = False) -> Module:
    """Import, verify, bind symbolic dims and optimize: the IR that codegen receives."""
    from .passes import run_pipeline

    module = verify(_import_model(model, input_shapes, example_inputs))
    symbols = bind_symbols(module.main, input_shapes)
    module = verify(specialize(module, symbols, input_shapes))
    names = with_weight_passes(pipeline or f"O{opt_level}", quantize, sparsity_option(sparsity, prune))
    if calibration is None or not quantize:
        return run_pipeline(module, names, dump_dir=dump_ir)
    # calibrated quantization: the passes before it, then input statistics, then the rest
    at = names.index(f"quantize={quantize}")
    module = calibrated_quantize(run_pipeline(module, names[:at]), quantize, calibration)
    return run_pipeline(module, names[at + 1:], dump_dir=dump_ir)


def calibrated_quantize(module: Module, scheme: str, calibration: Sequence) -> Module:
    """quantize=scheme with each target layer's input Hessian X^T X and largest |input| measured on
    calibration inputs."""
    from .ir import interpret
    from .ir.gptq import input_hessian
    from .passes.quantize import option_group, quantize_module, quantize_targets

    targets = {id(node) for node, _ in quantize_targets(module, option_group(scheme))}
    seen: dict[int, list[np.ndarray]] = {}
    for inputs in calibration:
        interpret(module, inputs, observe=lambda node, ins: seen.setdefault(id(node), []).append(ins[0])
                  if id(node) in targets else None)
    hessians = {k: input_hessian(v) for k, v in seen.items()}
    absmax = {k: max(float(np.abs(a).max(initial=0)) for a in v) for k, v in seen.items()}
    return verify(quantize_module(module, scheme, hessians, absmax, _output_errors(module, scheme, calibration)))


def _output_errors(module: Module, scheme: str, calibration: Sequence) -> dict[int, list[float]] | None:
    """For auto: schemes, each layer's effect on the model's outputs at every candidate width."""
    from .ir.bit_allocation import Budget
    from .ir.quantization import BITS
    from .passes.quantize import quantize_targets
    from .passes.quantize_sensitivity import output_errors

    budget = Budget.parse(scheme)
    if budget is None:
        return None
    nodes = [node for node, _ in quantize_targets(module, budget.group)]
    with _progress(len(nodes) * len(BITS), "layer sensitivity", unit="run") as bar:
        return output_errors(module, nodes, budget.group, calibration, progress=lambda: bar.update(1))


def sparsity_option(sparsity: str | None, prune: bool) -> str | None:
    """The sparsify pass option for compile's sparsity= and prune= arguments."""
    if prune and not sparsity:
        raise KernforgeError("prune=True needs a sparsity scheme, e.g. sparsity='2:4'")
    return f"{sparsity}-prune" if sparsity and prune else sparsity


def with_weight_passes(pipeline: str, quantize: str | None, sparsity: str | None = None) -> list[str]:
    """The pipeline's passes, with sparsify=<option> and quantize=<scheme> ahead of the first fusion
    pass (fused kernels are built around the ops they rewrite)."""
    from .passes import parse_pipeline
    from .passes.quantize import option_group
    from .passes.sparsify import SparsifyOption

    names = parse_pipeline(pipeline)
    if quantize and sparsity and SparsifyOption.parse(sparsity).scheme.kind != "nm":
        raise KernforgeError(f"quantize composes with N:M sparsity only, not with '{sparsity}'")
    at = next((i for i, n in enumerate(names) if n.startswith(("fuse-", "block-fuse"))), len(names))
    if quantize:
        option_group(quantize)  # a bad scheme fails before any pass runs
        names.insert(at, f"quantize={quantize}")
    if sparsity:  # ahead of quantize, which then quantizes the kept N:M values
        names.insert(at, f"sparsify={sparsity}")
    return names


def compile(model: Any, target: Any = None, input_shapes: Mapping[str, Sequence[int]] | None = None,
            opt_level: int = 2, dump_ir: str | None = None, example_inputs=None,
            pipeline: str | None = None, quantize: str | None = None,
            calibration: Sequence | None = None, sparsity: str | None = None, prune: bool = False) -> CompiledModel:
    """Compile a model for a target (default: this CPU) into a CompiledModel; quantize="w4g128"
    quantizes constant dense/matmul/gemm weights (weight-only); GPTQ schemes ("w4g128-gptq") use
    calibration, a list of model input sets. sparsity="2:4" (or bsr:16x1:0.8, unstructured:0.9)
    stores linear and 1x1 conv weights sparse where they have the pattern, or after pruning (prune=True)."""
    import tvm

    from .codegen.build import compile_kernels, plan_function, plan_params
    from .codegen.lower.registry import lowering_for
    from .codegen.target import resolve_target
    from .passes.target_traits import target_traits
    from .runtime.executor import Executor

    tgt = resolve_target(target)
    with target_traits(traits_of(tgt)):
        module = prepare(model, input_shapes, opt_level, dump_ir, example_inputs, pipeline, quantize, calibration,
                         sparsity, prune)
    with lowering_for(tgt):  # kernels and the weight layouts they read may depend on the target
        plan, specs = plan_function(module.main)
    with _progress(len(specs), f"compiling for {tgt.describe()}") as bar:
        lib = compile_kernels(specs, tgt, progress=lambda name: bar.update(1))
    used = module.used_params()
    empty = sorted(k for k in used if module.params[k].data is None)
    if empty:
        raise KernforgeError(f"param(s) {', '.join('@' + k for k in empty)} have no data to compile with "
                             "(IR text keeps only small params inline; compile from the model or the Module)")
    with lowering_for(tgt):
        params = plan_params(plan, module)  # the params the kernels read, prepacked weights included
    meta = {"kernforge": __version__, "tvm": tvm.__version__, "target": tgt.tvm_dict,
            "opt_level": opt_level, "pipeline": pipeline or f"O{opt_level}", "quantize": quantize,
            "sparsity": sparsity_option(sparsity, prune), "module": module.name}
    return CompiledModel(Executor(lib, plan, params), lib, print_module(module), meta)


def load(path: str) -> CompiledModel:
    """Load a `.kfa` artifact, checking its hash, versions and that its target runs here."""
    import tvm

    from .codegen.target import host_cpu
    from .runtime.artifact import ArtifactError, read_artifact
    from .runtime.executor import Executor

    if not os.path.exists(path):
        raise KernforgeError(f"artifact not found: {path}")
    workdir = tempfile.mkdtemp(prefix="kernforge-")
    try:
        art = read_artifact(path, workdir)
        _check_compatible(art.meta, tvm.__version__, host_cpu(), ArtifactError)
        lib = tvm.runtime.load_module(art.lib_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the library stays mapped after dlopen
    return CompiledModel(Executor(lib, art.plan, art.params), lib, art.ir_text, art.meta, art.lib_so)


def _check_compatible(meta: dict, tvm_version: str, cpu: str, error) -> None:
    if meta.get("kernforge") != __version__:
        raise error(f"artifact built by kernforge {meta.get('kernforge')}, this is {__version__}; recompile it")
    if meta.get("tvm") != tvm_version:
        raise error(f"artifact built with TVM {meta.get('tvm')}, this is {tvm_version}; recompile it")
    target = meta.get("target", {})
    if target.get("kind") != "llvm":
        raise error(f"artifact targets {target.get('kind')}, which cannot run on this host")
    if target.get("mcpu") not in (cpu, "generic", "x86-64"):
        raise error(f"artifact compiled for CPU {target.get('mcpu')}; this host is {cpu}")
