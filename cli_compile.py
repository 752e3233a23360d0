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


def cmd_compile(args: argparse.Namespace) -> int:
    from .api import compile

    cm = compile(args.model, target=parse_target(args.target), input_shapes=parse_input_shapes(args.input_shapes),
                 opt_level=args.opt_level, dump_ir=args.dump_ir)
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
    if args.profile:
        print(format_profile(cm.executor.profile(inputs), cm.executor.plan.kernels))
    return 0


def format_profile(rows: list[dict], kernels: dict) -> str:
    total = sum(r["median_s"] for r in rows) or 1.0
    lines = [f"{'#':>4}  {'kernel':<32} {'rule':<12} {'time ms':>9} {'share':>6}"]
    for r in rows:
        rule = kernels[r["kernel"]]["rule"]
        lines.append(f"{r['step']:>4}  {r['kernel']:<32} {rule:<12} {r['median_s'] * 1e3:>9.4f} "
                     f"{100 * r['median_s'] / total:>5.1f}%")
    lines.append(f"{'':>4}  {'total':<32} {'':<12} {total * 1e3:>9.4f}")
    return "\n".join(lines)


def artifact_stats(path: str) -> dict:
    """Signature, kernels (with the schedule rule that built each) and IR stats of a `.kfa` file."""
    import tempfile

    from .cli import module_stats
    from .ir import parse_module
    from .runtime.artifact import read_artifact

    with tempfile.TemporaryDirectory() as tmp:
        art = read_artifact(path, tmp)
    stats = module_stats(parse_module(art.ir_text, path + ":ir"))
    stats["kernels"] = [{"name": k, **v} for k, v in art.plan.kernels.items()]
    stats["kernel_calls"] = len(art.plan.steps)
    stats["target"] = art.meta["target"]
    stats["versions"] = {"kernforge": art.meta["kernforge"], "tvm": art.meta["tvm"]}
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
    c.add_argument("--dump-ir", metavar="DIR", help="write the IR after every pass into DIR")
    c.set_defaults(handler=cmd_compile)
    r = sub.add_parser("run", help="run a .kfa artifact on inputs (random when none are given)")
    r.add_argument("artifact", metavar="MODEL.kfa")
    r.add_argument("--inputs", metavar="IN.npz", help="inputs by name (default: random)")
    r.add_argument("--outputs", metavar="OUT.npz", help="write the outputs here")
    r.add_argument("--benchmark", type=int, metavar="N", help="time N runs and print latency statistics")
    r.add_argument("--profile", action="store_true", help="print the time of every kernel")
    r.set_defaults(handler=cmd_run)
    d = sub.add_parser("demo", help="compile a model shipped in the onnx wheel; check and time it vs onnxruntime")
    d.add_argument("model", nargs="?", default="light_resnet50", help="light model name (default light_resnet50)")
    d.add_argument("--repeat", type=int, default=20, help="timed runs per side")
    d.set_defaults(handler=cmd_demo)
