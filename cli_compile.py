"""CLI commands that compile and run models: `compile`, `run`, `demo`, and `inspect` of a `.kfa`."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np

from .errors import KernforgeError

_SHAPE_ITEM = re.compile(r"\s*([^:,\s]+)\s*:\s*(\[[^\]]*\])\s*")


def parse_input_shapes(text: str | None) -> dict[str, list[int]] | None:
    """'x:[1,3,224,224],mask:[1,128]' -> {"x": [1, 3, 224, 224], "mask": [1, 128]}."""
    if not text:
        return None
    shapes, pos = {}, 0
    while pos < len(text):
        m = _SHAPE_ITEM.match(text, pos)
        if not m:
            raise KernforgeError(f"--input-shapes: cannot read {text[pos:]!r}; expected NAME:[d0,d1,...]")
        dims = json.loads(m.group(2))
        if not all(isinstance(d, int) and d >= 0 for d in dims):
            raise KernforgeError(f"--input-shapes: dims of '{m.group(1)}' must be sizes, got {m.group(2)}")
        shapes[m.group(1)] = dims
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise KernforgeError(f"--input-shapes: expected ',' at {text[pos:]!r}")
            pos += 1
    return shapes


def parse_target(text: str | None):
    """A short name ('llvm') or a JSON dict ('{"kind": "llvm", "mcpu": "znver3"}')."""
    if text is None or not text.strip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise KernforgeError(f"--target: invalid JSON: {e}") from None


def load_calibration(path: str | None) -> list[dict[str, np.ndarray]] | None:
    """Input sets from an .npz of arrays by input name, each stacked along a leading sample axis."""
    if path is None:
        return None
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise KernforgeError(f"--calibration: cannot read {path}: {e}") from None
    counts = {len(a) for a in arrays.values() if a.ndim}
    if len(counts) != 1 or any(a.ndim == 0 for a in arrays.values()):
        raise KernforgeError(f"--calibration: every array of {path} needs the same leading sample count")
    return [{k: a[i] for k, a in arrays.items()} for i in range(counts.pop())]


def cmd_compile(args: argparse.Namespace) -> int:
    from .api import compile

    cm = compile(args.model, target=parse_target(args.target), input_shapes=parse_input_shapes(args.input_shapes),
                 opt_level=args.opt_level, dump_ir=args.dump_ir, pipeline=args.pipeline, quantize=args.quantize,
                 calibration=load_calibration(args.calibration), sparsity=args.sparsity, prune=args.prune)
    cm.save(args.output)
    kernels = cm.executor.plan.kernels
    print(f"compiled {args.model} -> {args.output}: {len(kernels)} kernels, "
          f"inputs {', '.join(f'{s.name}{s.shape}' for s in cm.executor.plan.inputs)}")
    return 0


def _load_inputs(cm, path: str | None) -> dict[str, np.ndarray]:
    if path is None:
        return cm.random_inputs()
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def cmd_run(args: argparse.Namespace) -> int:
    from .api import load

    cm = load(args.artifact)
    inputs = _load_inputs(cm, args.inputs)
    outputs = cm.run(inputs)
    if args.outputs:
        np.savez(args.outputs, **outputs)
    for name, value in outputs.items():
        print(f"{name}: shape {list(value.shape)} {value.dtype}  mean {float(np.mean(value)):.6g}")
    if args.benchmark:
        print(f"latency: {cm.benchmark(args.benchmark, inputs=inputs)}")
    if args.profile or args.roofline or args.remeasure_peaks:
        print(profile_report(cm, inputs, args.roofline, args.remeasure_peaks))
    return 0


def profile_report(cm, inputs: dict[str, np.ndarray], roofline_png: str | None = None,
                   remeasure_peaks: bool = False) -> str:
    """Time every kernel call, set it against this machine's peaks; optionally draw the roofline."""
    import sys

    from .runtime.peaks import cached_peaks, load_peaks
    from .runtime.roofline import roofline_rows, step_costs

    plan = cm.executor.plan
    costs = step_costs(cm.ir(), plan.steps)
    if remeasure_peaks or cached_peaks() is None:
        print("measuring this machine's peak GFLOP/s and GB/s (once; cached)...", file=sys.stderr)
    peaks = load_peaks(remeasure=remeasure_peaks, extra_gflops=compiled_gemm_gflops)
    rows = roofline_rows(cm.executor.profile(inputs), costs, peaks)
    text = format_profile(rows, plan.kernels, peaks)
    if roofline_png:
        from .runtime.roofline_plot import plot_roofline

        plot_roofline(rows, peaks, roofline_png, title=cm.meta.get("module", "roofline"))
        text += f"\nroofline written to {roofline_png}"
    return text


def compiled_gemm_gflops(n: int = 512, budget_s: float = 0.5) -> float:
    """GFLOP/s of kernforge's own n^3 float32 GEMM: the compute peak must cover what our kernels reach."""
    from .api import compile as compile_model
    from .ir import Builder
    from .runtime.peaks import best_seconds

    rng = np.random.default_rng(0)
    b = Builder("peak_gemm")
    f = b.function()
    f.ret(f.matmul(f.arg("a", [n, n]), f.param("b", rng.standard_normal((n, n)).astype(np.float32))))
    cm = compile_model(b.module)
    cm.executor.bind({"a": rng.standard_normal((n, n)).astype(np.float32)})
    return 2 * n**3 / best_seconds(cm.executor.execute, budget_s) / 1e9


def format_profile(rows: list, kernels: dict, peaks) -> str:
    """A table of KernelRoofline rows, a total line, the peaks used and the waterline."""
    from .runtime.roofline import waterline

    bound, total = waterline(rows)
    share_of = total or 1.0
    lines = [f"{'#':>4}  {'kernel':<28} {'rule':<12} {'time ms':>9} {'share':>6} {'GFLOP':>9} {'GB':>9} "
             f"{'GFLOP/s':>8} {'GB/s':>8} {'% peak':>6} {'bound ms':>9} {'gap ms':>9}"]
    for r in rows:
        rule = kernels.get(r.kernel, {}).get("rule", "?")
        lines.append(f"{r.step:>4}  {r.kernel:<28} {rule:<12} {r.time_s * 1e3:>9.4f} "
                     f"{100 * r.time_s / share_of:>5.1f}% {r.flops / 1e9:>9.3g} {r.bytes / 1e9:>9.3g} "
                     f"{r.gflops_per_s:>8.2f} {r.gbytes_per_s:>8.2f} {r.percent_of_peak:>5.1f}% "
                     f"{r.bound_s * 1e3:>9.4f} {r.gap_s * 1e3:>9.4f}")
    flops, nbytes = sum(r.flops for r in rows), sum(r.bytes for r in rows)
    lines.append(f"{'':>4}  {'total':<28} {'':<12} {total * 1e3:>9.4f} {'':>6} {flops / 1e9:>9.3g} "
                 f"{nbytes / 1e9:>9.3g} {'':>8} {'':>8} {'':>6} {bound * 1e3:>9.4f} {(total - bound) * 1e3:>9.4f}")
    lines.append(f"peaks ({peaks.host}): {peaks.gflops:.1f} GFLOP/s, {peaks.gbps:.1f} GB/s "
                 "(bytes = operand + result sizes, a lower bound on traffic)")
    ratio = f" ({total / bound:.1f}x the waterline)" if bound > 0 else ""
    lines.append(f"waterline: {bound * 1e3:.4f} ms if every kernel ran at its roofline bound; "
                 f"measured {total * 1e3:.4f} ms{ratio}, gap {(total - bound) * 1e3:.4f} ms")
    return "\n".join(lines)


def artifact_stats(path: str) -> dict:
    """Signature, kernels (with the schedule rule that built each), IR stats and the memory plan's
    numbers of a `.kfa` file."""
    import tempfile

    from .cli import module_stats
    from .codegen.memory import memory_stats
    from .ir import parse_module
    from .runtime.artifact import read_artifact

    with tempfile.TemporaryDirectory() as tmp:
        art = read_artifact(path, tmp)
    stats = module_stats(parse_module(art.ir_text, path + ":ir"))
    stats["kernels"] = [{"name": k, **v} for k, v in art.plan.kernels.items()]
    stats["kernel_calls"] = len(art.plan.steps)
    stats["target"] = art.meta["target"]
    stats["versions"] = {"kernforge": art.meta["kernforge"], "tvm": art.meta["tvm"]}
    stats.update(memory_stats(art.plan))
    return stats


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.model, args.repeat)
    return 0


def add_commands(sub) -> None:
    """Register compile and run on the CLI's subparsers."""
    c = sub.add_parser("compile", help="compile a model (ONNX, IR text) to a .kfa artifact")
    c.add_argument("model", metavar="MODEL", help="model.onnx or module.kf.txt")
    c.add_argument("-o", "--output", required=True, metavar="OUT.kfa", help="artifact to write")
    c.add_argument("--target", help='"llvm" (default: this CPU) or a JSON target dict')
    c.add_argument("--input-shapes", metavar="SHAPES", help='bind dynamic dims, e.g. "x:[1,3,224,224]"')
    c.add_argument("-O", dest="opt_level", type=int, choices=range(4), default=2, help="optimization level")
    c.add_argument("--pipeline", metavar="P", help='passes to run instead of -O N, e.g. "O3,block-fuse"')
    c.add_argument("--quantize", metavar="SCHEME",
                   help="quantize dense/matmul/gemm weights: w<bits>[g<group>][-sym][-gptq][-a8], auto:<average bits>, "
                        "wbcq<planes>[g<group>], w<bits>[g<group>]-spqr or w8a8, e.g. w4g128")
    c.add_argument("--calibration", metavar="CAL.npz",
                   help="input sets for GPTQ, auto: and w8a8: arrays by input name, stacked on a leading axis")
    c.add_argument("--sparsity", metavar="SCHEME",
                   help="sparse weights for linear and 1x1 conv layers that have the pattern: N:M (e.g. 2:4), "
                        "bsr:<R>x<C>[:<sparsity>] or unstructured[:<sparsity>]")
    c.add_argument("--prune", action="store_true", help="magnitude-prune the weights to --sparsity first")
    c.add_argument("--dump-ir", metavar="DIR", help="write the IR after every pass into DIR")
    c.set_defaults(handler=cmd_compile)
    r = sub.add_parser("run", help="run a .kfa artifact on inputs (random when none are given)")
    r.add_argument("artifact", metavar="MODEL.kfa")
    r.add_argument("--inputs", metavar="IN.npz", help="inputs by name (default: random)")
    r.add_argument("--outputs", metavar="OUT.npz", help="write the outputs here")
    r.add_argument("--benchmark", type=int, metavar="N", help="time N runs and print latency statistics")
    r.add_argument("--profile", action="store_true",
                   help="print every kernel call's time, FLOPs, bytes, rates, %% of peak and roofline bound")
    r.add_argument("--roofline", metavar="FILE.png",
                   help="draw a roofline of the kernels to FILE.png (implies --profile)")
    r.add_argument("--remeasure-peaks", action="store_true",
                   help="measure this machine's peak GFLOP/s and GB/s again, not from the cache (implies --profile)")
    r.set_defaults(handler=cmd_run)
    d = sub.add_parser("demo", help="compile a model shipped in the onnx wheel; check and time it vs onnxruntime")
    d.add_argument("model", nargs="?", default="light_resnet50", help="light model name (default light_resnet50)")
    d.add_argument("--repeat", type=int, default=20, help="timed runs per side")
    d.set_defaults(handler=cmd_demo)
