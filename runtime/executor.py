"""The executor: memory-planned buffers, kernels called in plan order, inputs validated. Never compiles."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import numpy as np

# TVM sizes its thread pool to half the logical CPUs unless told; kernforge uses them all, unpinned
# like onnxruntime's. Must be set before the first parallel kernel runs.
os.environ.setdefault("TVM_NUM_THREADS", str(os.cpu_count() or 1))
os.environ.setdefault("TVM_BIND_THREADS", "0")

import tvm  # noqa: E402

from ..errors import InputError
from ..ir.interpreter import Inputs, order_inputs
from ..ir.layouts import to_logical, to_physical
from ..ir.types import DTYPES, dtype
from . import host_calls  # noqa: F401  (registers the host functions kernels call back into)
from .plan import Plan


class Executor:
    """Runs a compiled library according to its plan, on one device."""

    def __init__(self, lib, plan: Plan, params: Mapping[str, np.ndarray], device=None):
        self.plan, self.device = plan, device or tvm.cpu()
        self.param_arrays = dict(params)
        self.funcs = {name: lib[name] for name in plan.kernels}
        self.slots = {f"param:{k}": self._upload(v) for k, v in params.items()}
        self.slots.update(self._allocate(plan))
        # Each call with its arguments, built once: a list per call costs microseconds in a model of 100
        # kernels. An input's array changes at each bind; it is patched in at the positions that read it.
        self._calls = [(self.funcs[s.kernel], [self.slots.get(x) for x in s.inputs + s.outputs]) for s in plan.steps]
        self._input_uses = {slot: [(k, j) for k, s in enumerate(plan.steps)
                                   for j, x in enumerate(s.inputs + s.outputs) if x == slot]
                            for slot in {f"in:{sig.name}" for sig in plan.inputs}}

    def _allocate(self, plan: Plan) -> dict:
        """One flat byte block per storage of the memory plan, each buffer a view of its block."""
        blocks = {sid: tvm.runtime.empty([n], "uint8", self.device) for sid, n in plan.storage.items()}
        out = {}
        for slot, (shape, dt) in plan.buffers.items():
            name, sid = DTYPES[dt].byte_storage.name, plan.buffer_storage.get(slot)
            if sid is None:
                out[slot] = tvm.runtime.empty(shape, name, self.device)
            elif plan.buffer_offset.get(slot):
                out[slot] = _region(blocks[sid], plan.buffer_offset[slot], shape, name)
            else:
                out[slot] = blocks[sid]._create_view(shape, name)
        return out

    def bind(self, inputs: Inputs) -> None:
        """Validate inputs against the signature and copy them to the device."""
        sigs = self.plan.inputs
        arrays = order_inputs([s.name for s in sigs], inputs, "model")
        for sig, a in zip(sigs, arrays):
            a = np.asarray(a)
            want = _np_dtype(sig.dtype)
            if a.dtype != want:
                raise InputError(f"input '{sig.name}' has dtype {a.dtype}, expected {sig.dtype} ({want})")
            if list(a.shape) != list(sig.shape):
                raise InputError(f"input '{sig.name}' has shape {list(a.shape)}, expected {sig.shape}")
            slot = f"in:{sig.name}"
            self.slots[slot] = self._upload(to_physical(a, sig.layout))
            for k, j in self._input_uses[slot]:
                self._calls[k][1][j] = self.slots[slot]

    def execute(self) -> None:
        for fn, args in self._calls:
            fn(*args)

    def outputs(self) -> dict[str, np.ndarray]:
        return {sig.name: to_logical(self.slots[s].numpy(), sig.layout).astype(_np_dtype(sig.dtype), copy=False)
                for sig, s in zip(self.plan.outputs, self.plan.output_slots)}

    def _upload(self, a: np.ndarray):
        a = _contiguous(a)
        # astype, not view: ml_dtypes keeps a sub-byte int in the low bits without sign extension.
        return tvm.runtime.tensor(a.astype(dtype(a.dtype).byte_storage, copy=False), self.device)

    def run(self, inputs: Inputs) -> dict[str, np.ndarray]:
        self.bind(inputs)
        self.execute()
        return self.outputs()

    def profile(self, inputs: Inputs, repeat: int = 10) -> list[dict]:
        """Median time of every step over `repeat` runs, in plan order."""
        self.bind(inputs)
        times = [[] for _ in self._calls]
        for _ in range(repeat):
            for k, (fn, args) in enumerate(self._calls):
                t0 = time.perf_counter()
                fn(*args)
                times[k].append(time.perf_counter() - t0)
        return [{"step": k, "kernel": s.kernel, "median_s": float(np.median(t))}
                for k, (s, t) in enumerate(zip(self.plan.steps, times))]


def _region(block, offset: int, shape: list[int], dtype: str):
    """A view `offset` bytes into a storage block: kernels refuse a nonzero DLTensor byte_offset, so the
    view is made through DLPack with its data pointer moved (TVM checks it is still 64-byte aligned)."""
    size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    whole = np.from_dlpack(block)
    return tvm.runtime.from_dlpack(whole[offset:offset + size].view(dtype).reshape(shape))


def _np_dtype(name: str) -> np.dtype:
    return DTYPES[name].numpy


def _contiguous(a: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into shape (1,).
    return np.require(a, requirements="C")
