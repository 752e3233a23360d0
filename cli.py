"""The `kernforge` command line: opt (like mlir-opt), inspect, compile, run, demo. Mistakes print one line."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence

from .errors import KernforgeError
from .ir import Module, parse_module
from .ir.ops import get_op

PROG = "kernforge"


def read_module(path: str) -> Module:
    """IR text from a file (or stdin for "-"), or an ONNX model imported by the frontend."""
    if path == "-":
        return parse_module(sys.stdin.read(), "<stdin>")
    if path.endswith(".onnx"):
        from .frontends import from_onnx

        if not os.path.exists(path):
            raise KernforgeError(f"model file not found: {path}")
        return from_onnx(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise KernforgeError(f"{path}: not a UTF-8 text file") from None
    return parse_module(text, path)


def write_text(text: str, out: str | None) -> None:
    if out is None or out == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def cmd_opt(args: argparse.Namespace) -> int:
    from .passes import PassManager

    after = [n for group in args.print_ir_after or [] for n in group.split(",")]
    pipeline = f"O{args.opt_level},{args.pipeline}" if args.opt_level else args.pipeline
    pm = PassManager(pipeline, print_ir_after_all=args.print_ir_after_all, print_ir_after=after,
                     dump_dir=args.dump_dir, verify_each=not args.no_verify, timing=args.timing)
    module = read_module(args.file)
    with _cost_rules(args.target):
        write_text(str(pm.run(module)), args.output)
    return 0


def _cost_rules(target: str | None):
    """The weight passes' cost rules for --target, as kernforge compile weighs them (none: target-independent)."""
    if target is None:
        return contextlib.nullcontext()
    from .api import traits_of
    from .cli_compile import parse_target
    from .passes.target_traits import target_traits

    return target_traits(traits_of(parse_target(target)))


def module_stats(module: Module) -> dict:
    """Op histogram, node/param counts and sizes, FLOP and byte estimates, and the main signature."""
    ops: Counter[str] = Counter()
    flops = traffic = 0
    for func in module.functions.values():
        for node in func.walk():  # descends into fused regions: their ops do the arithmetic
            ops[node.op] += 1
            flops += get_op(node.op).count_flops([v.type for v in node.operands], [r.type for r in node.results],
                                                 node.attrs)
        for node in func.nodes:
            # Bytes per kernel: a fused node's intermediates never reach memory, so count only its edges.
            traffic += sum(v.type.nbytes for v in node.operands) + sum(r.type.nbytes for r in node.results)
    main = module.main
    return {
        "module": module.name,
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "nodes": sum(ops.values()),
        "params": len(module.params),
        "param_bytes": sum(p.type.nbytes for p in module.params.values()),
        "flops": flops,
        "bytes": traffic,
        "inputs": [{"name": n, "type": str(a.type)} for n, a in zip(main.input_names, main.args)],
        "outputs": [{"name": n, "type": str(v.type)} for n, v in zip(main.output_names, main.outputs)],
    }


def format_stats(stats: dict) -> str:
    """A plain aligned report: summary lines (one per input and output), then the op histogram."""
    rows = [("module", f"@{stats['module']}")]
    for key in ("inputs", "outputs"):
        sig = [f"%{v['name']}: {v['type']}" for v in stats[key]] or ["(none)"]
        rows += [(key if i == 0 else "", s) for i, s in enumerate(sig)]
    rows += [
        ("nodes", f"{stats['nodes']:,}"),
        ("params", f"{stats['params']:,} ({_human_bytes(stats['param_bytes'])})"),
        ("flops", f"{stats['flops']:,}"),
        ("bytes", f"{stats['bytes']:,} ({_human_bytes(stats['bytes'])})"),
    ]
    lines = [f"{k:<8} {v}" for k, v in rows]
    if stats["ops"]:
        width = max(len("op"), *(len(op) for op in stats["ops"]))
        lines += ["", f"{'op':<{width}}  {'count':>6}", f"{'-' * width}  {'-' * 6}"]
        lines += [f"{op:<{width}}  {n:>6}" for op, n in stats["ops"].items()]
    return "\n".join(lines) + "\n"


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def cmd_inspect(args: argparse.Namespace) -> int:
    if args.file.endswith(".kfa"):
        from .cli_compile import artifact_stats

        stats = artifact_stats(args.file)
        if not args.json:
            kernels = [f"{k['name']:<32} rule={k['rule']:<10} ops={','.join(k['ops'])}" for k in stats["kernels"]]
            write_text(format_stats(stats) + _format_memory(stats) + "\nkernels\n" + "\n".join(kernels) + "\n",
                       None)
            return 0
    else:
        stats = module_stats(read_module(args.file))
    write_text(json.dumps(stats, indent=2) + "\n" if args.json else format_stats(stats), None)
    return 0


def _format_memory(stats: dict) -> str:
    peak, naive = stats["peak_activation_bytes"], stats["naive_activation_bytes"]
    share = f" ({100 * peak / naive:.0f}%)" if naive else ""
    return (f"\n{'kernels':<8} {stats['kernel_calls']:,} calls of {len(stats['kernels']):,} kernels\n"
            f"{'memory':<8} peak activations {_human_bytes(peak)}{share} of {_human_bytes(naive)} naive; "
            f"{stats['activation_buffers']:,} buffers in {stats['storages']:,} storages\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="kernforge: a deep-learning compiler.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    opt = sub.add_parser("opt", help="run a pass pipeline on IR text (like mlir-opt)")
    opt.add_argument("file", metavar="FILE", help="IR text file, or - for stdin")
    opt.add_argument("--pipeline", "-p", default="", help='comma-separated passes, e.g. "constant-fold,dce" or "-O2"')
    opt.add_argument("-O", dest="opt_level", choices="0123", help="prepend the named pipeline -O0 .. -O3")
    opt.add_argument("--print-ir-after-all", action="store_true", help="print the IR to stderr after every pass")
    opt.add_argument("--print-ir-after", action="append", metavar="NAMES",
                     help="print the IR to stderr after these passes (comma-separated)")
    opt.add_argument("--dump-dir", metavar="DIR", help="write 00-input.kf.txt, 01-<pass>.kf.txt, ... here")
    opt.add_argument("--timing", action="store_true", help="print a per-pass timing table to stderr")
    opt.add_argument("--no-verify", action="store_true", help="skip the verifier between passes")
    opt.add_argument("--target", help="weigh the weight passes' cost rules for this target, as `compile` does: "
                                      '"llvm" (this CPU) or a JSON target dict (default: target-independent rules)')
    opt.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    opt.set_defaults(handler=cmd_opt)
    ins = sub.add_parser("inspect", help="summarize an IR file: ops, params, FLOPs, bytes, signature")
    ins.add_argument("file", metavar="FILE",
                     help="IR text file, - for stdin, a .onnx model, or a compiled .kfa artifact")
    ins.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    ins.set_defaults(handler=cmd_inspect)
    from .cli_compile import add_commands

    add_commands(sub)
    return parser


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kernforge` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader went away (`kernforge opt F | head`): stop quietly, and keep the interpreter's
        # final flush of stdout from failing too.
        sys.stdout = open(os.devnull, "w")
        return 1
    except (KernforgeError, OSError) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1
