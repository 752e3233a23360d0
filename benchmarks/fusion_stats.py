"""Fusion statistics: for each suite model, the ops its import yields, the kernels left after an
optimization level, and the kernels the executor calls (in-place concats leave the plan), as a ratio.

python -m benchmarks.fusion_stats [--models resnet50 mobilenetv2 bert] [-O 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json

DEFAULT = ["resnet50", "mobilenetv2", "bert"]
TARGET_RATIO = 0.40  # #6: kernels after -O3 at most 40% of the imported ops


def fusion_stats(path: str, opt_level: int = 3) -> dict:
    """Imported ops, kernels after the pipeline, and kernel calls in the memory-planned executor plan."""
    from kernforge.api import _import_model, prepare
    from kernforge.codegen.build import plan_function

    imported = len(_import_model(path, None, None).main.nodes)
    module = prepare(path, opt_level=opt_level)
    plan, _ = plan_function(module.main)
    kernels = len(module.main.nodes)
    return {"imported_ops": imported, "kernels": kernels, "kernel_calls": len(plan.steps),
            "ratio": kernels / imported,
            "blocks": sum(1 for n in module.main.nodes if n.attrs.get("kind") == "block")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT)
    p.add_argument("-O", dest="opt_level", type=int, default=3)
    p.add_argument("--json", metavar="OUT")
    args = p.parse_args(argv)
    from .models import SUITE

    rows = {}
    print(f"{'model':14s} {'imported':>9s} {'kernels':>8s} {'calls':>6s} {'blocks':>6s} {'ratio':>6s}")
    for name in args.models:
        row = rows[name] = fusion_stats(SUITE[name]().onnx_path, args.opt_level)
        mark = "OK" if row["ratio"] <= TARGET_RATIO else f"over {TARGET_RATIO:.0%}"
        print(f"{name:14s} {row['imported_ops']:9d} {row['kernels']:8d} {row['kernel_calls']:6d} "
              f"{row['blocks']:6d} {row['ratio']:6.2f}  {mark}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
