"""One adapter per benchmarked system: prepare(model) compiles or loads it, binds the model's inputs,
and returns the call to time plus the outputs it produced on those inputs (for the correctness check)."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .models import BenchModel


@dataclass
class Prepared:
    """A system ready to run one model: `fn()` runs it on the bound inputs."""

    fn: Callable[[], object]
    outputs: list[np.ndarray]
    prepare_s: float  # compile / load / first-call time
    call_s: float  # the time of the call that produced `outputs`: the estimate that paces the timing
    info: dict = field(default_factory=dict)


class System(ABC):
    """A benchmarked system; `applies` says whether it can run a model at all (else its cell is '-')."""

    name = ""
    label = ""

    def applies(self, model: BenchModel) -> bool:
        return True

    @abstractmethod
    def prepare(self, model: BenchModel) -> Prepared:
        """Build the system's runnable form of the model."""


def _timed(build: Callable[[], object]) -> tuple:
    """(build(), seconds it took)."""
    t0 = time.perf_counter()
    out = build()
    return out, time.perf_counter() - t0


class Kernforge(System):
    name, label = "kernforge", "kernforge"

    def prepare(self, model: BenchModel) -> Prepared:
        import kernforge

        cm, secs = _timed(lambda: kernforge.compile(model.onnx_path, opt_level=3))
        outputs, call_s = _timed(lambda: list(cm.run(model.inputs).values()))
        cm.executor.bind(model.inputs)
        return Prepared(cm.executor.execute, outputs, secs, call_s, {"kernels": len(cm.executor.plan.kernels)})


class OnnxRuntime(System):
    name, label = "onnxruntime", "onnxruntime"

    def prepare(self, model: BenchModel) -> Prepared:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = os.cpu_count() or 1  # the same thread count as TVM's pool
        sess, secs = _timed(lambda: ort.InferenceSession(model.onnx_path, opts, providers=["CPUExecutionProvider"]))
        feed = {i.name: v for i, v in zip(sess.get_inputs(), model.inputs)}
        fn = lambda: sess.run(None, feed)
        outputs, call_s = _timed(fn)
        return Prepared(fn, outputs, secs, call_s)


def _torch_outputs(out) -> list[np.ndarray]:
    import torch

    return [t.detach().numpy() for t in torch.utils._pytree.tree_leaves(out)]


class TorchEager(System):
    name, label = "torch", "torch"

    def applies(self, model: BenchModel) -> bool:
        return model.torch_factory is not None

    def module(self, model: BenchModel):
        return model.torch_module()

    def prepare(self, model: BenchModel) -> Prepared:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        args = [torch.from_numpy(a) for a in model.inputs]
        module, secs = _timed(lambda: self.module(model))

        def fn():
            with torch.inference_mode():
                return module(*args)

        _, first_s = _timed(fn)  # torch.compile compiles on the first call
        out, call_s = _timed(fn)
        return Prepared(fn, _torch_outputs(out), secs + first_s, call_s)


class TorchCompile(TorchEager):
    name, label = "torch_compile", "torch.compile"

    def module(self, model: BenchModel):
        import torch

        return torch.compile(model.torch_module(), backend="inductor")


class TvmRelax(System):
    """TVM's own path: Relax's ONNX importer, the default Relax pipeline for the host CPU, the Relax VM."""

    name, label = "tvm_relax", "tvm.relax"

    def prepare(self, model: BenchModel) -> Prepared:
        import onnx
        import tvm
        from tvm import relax
        from tvm.relax.frontend.onnx import from_onnx

        def build():
            proto = onnx.load(model.onnx_path)
            names = [i.name for i in proto.graph.input]
            mod = from_onnx(proto, shape_dict={n: list(a.shape) for n, a in zip(names, model.inputs)},
                            dtype_dict={n: str(a.dtype) for n, a in zip(names, model.inputs)})
            cpu = str(tvm.target.codegen.llvm_get_system_cpu())
            target = tvm.target.Target({"kind": "llvm", "mcpu": cpu, "num-cores": os.cpu_count() or 1})
            return relax.VirtualMachine(tvm.compile(mod, target=target), tvm.cpu())

        vm, secs = _timed(build)
        main, args = vm["main"], [tvm.runtime.tensor(a) for a in model.inputs]
        out, call_s = _timed(lambda: main(*args))
        outs = [out] if hasattr(out, "numpy") else list(out)
        return Prepared(lambda: main(*args), [o.numpy() for o in outs], secs, call_s)


class NumPy(System):
    """np.matmul (BLAS) on the matmul models: the reference speed for GEMM and GEMV."""

    name, label = "numpy", "numpy"

    def applies(self, model: BenchModel) -> bool:
        return model.numpy_fn is not None

    def prepare(self, model: BenchModel) -> Prepared:
        fn = lambda: model.numpy_fn(*model.inputs)
        out, call_s = _timed(fn)
        return Prepared(fn, [out], 0.0, call_s)


SYSTEMS: dict[str, System] = {s.name: s for s in (Kernforge(), OnnxRuntime(), TorchEager(), TorchCompile(),
                                                    TvmRelax(), NumPy())}
