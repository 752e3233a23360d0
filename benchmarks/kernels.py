"""Single-op kernel benchmark: kernforge vs onnxruntime (default threading) on GEMM, GEMV, batch
matmul, convolutions and pooling, timed in one run, interleaved, reported as a ratio.

python -m benchmarks.kernels [--cases gemm conv3x3 ...] [--repeat N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class KernelCase:
    """One op: its IR name and attributes, ONNX twin, runtime inputs and weights (in operand order)."""

    op: str
    inputs: dict[str, tuple]
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    onnx_op: str = ""
    onnx_attrs: dict = field(default_factory=dict)
    flops: int = 0


def _w(*shape, seed=1):
    return (np.random.default_rng(seed).standard_normal(shape) * 0.1).astype(np.float32)


def _conv(c, o, hw, k, stride=1, group=1):
    pad = k // 2
    out = (hw + 2 * pad - k) // stride + 1
    attrs = {"strides": [stride] * 2, "pads": [pad] * 4, "group": group}
    return KernelCase("conv2d", {"x": (1, c, hw, hw)}, {"w": _w(o, c // group, k, k), "b": _w(o, seed=2)},
                      attrs, "Conv", {"strides": [stride] * 2, "pads": [pad] * 4, "group": group,
                                      "kernel_shape": [k, k]}, 2 * o * out * out * (c // group) * k * k)


CASES = {
    "gemm_1024": KernelCase("matmul", {"a": (1024, 1024)}, {"b": _w(1024, 1024)}, onnx_op="MatMul",
                            flops=2 * 1024**3),
    "gemv_4096": KernelCase("matmul", {"a": (1, 4096)}, {"b": _w(4096, 4096)}, onnx_op="MatMul",
                            flops=2 * 4096**2),
    "bmm_12x128x64": KernelCase("matmul", {"a": (12, 128, 64), "b": (12, 64, 128)}, onnx_op="MatMul",
                                flops=2 * 12 * 128 * 128 * 64),
    "dense_197x768x768": KernelCase("dense", {"x": (197, 768)}, {"w": _w(768, 768), "b": _w(768, seed=2)},
                                    onnx_op="Gemm", onnx_attrs={"transB": 1}, flops=2 * 197 * 768 * 768),
    "conv3x3_64_56": _conv(64, 64, 56, 3),
    "conv1x1_256_56": _conv(256, 64, 56, 1),
    "dwconv3x3_144_56": _conv(144, 144, 56, 3, group=144),
    "conv7x7s2_3_224": _conv(3, 64, 224, 7, stride=2),
    "conv3x3s2_3_224": _conv(3, 64, 224, 3, stride=2),  # SqueezeNet-1.1's stem
    "conv3x3_256_14": _conv(256, 256, 14, 3),
    "conv3x3s2_128_56": _conv(128, 128, 56, 3, stride=2),
    "conv3x3_512_7": _conv(512, 512, 7, 3),
    "conv1x1_1024_14": _conv(1024, 256, 14, 1),
    "conv1x1_512_1000_13": _conv(512, 1000, 13, 1),  # SqueezeNet's conv10
    "gconv1x1_272_68_g4_28": _conv(272, 68, 28, 1, group=4),  # ShuffleNet's grouped 1x1 convs
    "gconv1x1_68_272_g4_28": _conv(68, 272, 28, 1, group=4),
    "maxpool3x3s2_64_112": KernelCase("max_pool", {"x": (1, 64, 112, 112)},
                                      attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4},
                                      onnx_op="MaxPool", onnx_attrs={"kernel_shape": [3, 3], "strides": [2, 2],
                                                                     "pads": [1] * 4}),
}


def ir_module(case: KernelCase):
    from kernforge.ir import Builder

    b = Builder("kernel")
    f = b.function()
    operands = [f.arg(n, list(s)) for n, s in case.inputs.items()]
    operands += [f.param(n, data) for n, data in case.params.items()]
    f.ret(f.op(case.op, *operands, **case.attrs))
    return b.module


def onnx_model(case: KernelCase) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    names = [*case.inputs, *case.params]
    node = helper.make_node(case.onnx_op, names, ["y"], **case.onnx_attrs)
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in case.inputs.items()]
    graph = helper.make_graph(
        [node], "kernel", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, n) for n, v in case.params.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def interleaved_blocks(fns, repeat: int, rounds: int = 5, warmup: int = 3, settle_s: float = 0.05,
                       before=None) -> list[float]:
    """Median ms of each fn over `rounds` alternating blocks of runs. Whole blocks rather than single
    calls alternate, each after a pause and a few warm-up runs: the thread pools of onnxruntime and
    TVM keep spinning a while after each call and would slow whichever system ran next. before(), if
    given, runs untimed ahead of every call (e.g. evict_caches)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            time.sleep(settle_s)
            for _ in range(warmup):
                fn()
            for _ in range(max(1, repeat // rounds)):
                if before:
                    before()
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return [float(np.median(t)) for t in times]


class CacheEvictor:
    """Reads a buffer larger than the last-level caches on every core (reads: no dirty lines to write
    back later), so that the next call reads its weights from memory, as a batch-1 decoder does with
    each layer's weights in turn."""

    def __init__(self, megabytes: int = 128):
        from concurrent.futures import ThreadPoolExecutor

        cores = os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(cores)
        self.buffers = [np.zeros(megabytes * 2**20 // 8) for _ in range(cores)]  # caches are per core group

    def __call__(self) -> None:
        list(self.pool.map(np.max, self.buffers))  # NumPy drops the GIL for the reduction


def time_compiled(models: list, inputs, repeat: int, before=None) -> list[float]:
    """Median ms of each compiled model on the same inputs, interleaved (interleaved_blocks)."""
    for cm in models:
        cm.executor.bind(inputs)
    return interleaved_blocks([cm.executor.execute for cm in models], repeat, before=before)


def bench(name: str, case: KernelCase, repeat: int) -> dict:
    """Compile, check against onnxruntime on the same inputs, then time both (and NumPy for a GEMM)."""
    import onnxruntime as ort

    import kernforge

    t0 = time.perf_counter()
    cm = kernforge.compile(ir_module(case))
    compile_s = time.perf_counter() - t0
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(onnx_model(case), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    inputs = {n: rng.standard_normal(s).astype(np.float32) for n, s in case.inputs.items()}
    ours, theirs = cm(**inputs), sess.run(None, inputs)[0]
    err = float(np.max(np.abs(ours - theirs)) / (np.max(np.abs(theirs)) + 1e-12))
    cm.executor.bind(inputs)
    fns = [cm.executor.execute, lambda: sess.run(None, inputs)]
    if case.op == "matmul" and case.params:
        a, b = next(iter(inputs.values())), next(iter(case.params.values()))
        fns.append(lambda: np.matmul(a, b))
    times = interleaved_blocks(fns, repeat)
    row = {"case": name, "kernforge_ms": times[0], "onnxruntime_ms": times[1], "ratio": times[0] / times[1],
           "rel_err": err, "compile_s": compile_s, "gflops": case.flops / times[0] / 1e6 if case.flops else None}
    if len(times) > 2:
        row["numpy_ms"] = times[2]
    return row


def main(argv=None) -> int:
    # TVM sizes its thread pool to half the logical CPUs (it assumes SMT pairs): one thread on a
    # 2-vCPU host. Give it every core, as onnxruntime has by default, and leave the threads unpinned
    # like onnxruntime's, so that a core taken by another process does not stall a static chunk.
    # Both are read when the first kernel runs.
    os.environ.setdefault("TVM_NUM_THREADS", str(os.cpu_count()))
    os.environ.setdefault("TVM_BIND_THREADS", "0")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--json", metavar="OUT")
    args = p.parse_args(argv)
    rows = []
    print(f"{'case':<20} {'kernforge ms':>12} {'ort ms':>9} {'kf/ort':>7} {'GFLOP/s':>8} {'numpy ms':>9} "
          f"{'rel err':>8} {'build s':>7}")
    for name in args.cases:
        r = bench(name, CASES[name], args.repeat)
        rows.append(r)
        gf = f"{r['gflops']:.1f}" if r["gflops"] else "-"
        npm = f"{r['numpy_ms']:.2f}" if "numpy_ms" in r else "-"
        print(f"{name:<20} {r['kernforge_ms']:>12.3f} {r['onnxruntime_ms']:>9.3f} {r['ratio']:>7.2f} {gf:>8} "
              f"{npm:>9} {r['rel_err']:>8.1e} {r['compile_s']:>7.1f}", flush=True)
    ratios = [r["ratio"] for r in rows]
    print(f"geomean kf/ort: {float(np.exp(np.mean(np.log(ratios)))):.2f} on {os.cpu_count()} cores")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host_cpu": os.cpu_count(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
