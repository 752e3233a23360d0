"""Weight-only quantized models end to end: kernforge float32 vs quantized schemes on the suite's
GPT-2-small-like model (random weights) decoding one token at batch 1, in one run, interleaved;
with the output error (relative L2) and top-1 agreement against float32.

python -m benchmarks.quant_models [--model gpt2] [--seq 1] [--schemes w8 w4g128] [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .kernels import time_compiled
from .quant_gemv import print_table, relative_error, weight_bytes

SCHEMES = ["w8", "w4g128"]


def load(model: str, seq: int):
    from .models import bert, gpt2

    return {"gpt2": lambda: gpt2(seq=seq), "bert": lambda: bert(seq=seq)}[model]()


def measure(model: str, seq: int, schemes: list[str], repeat: int, opt_level: int = 3) -> list[dict]:
    import kernforge

    bench = load(model, seq)
    models = {"f32": kernforge.compile(bench.onnx_path, opt_level=opt_level)}
    models.update({s: kernforge.compile(bench.onnx_path, opt_level=opt_level, quantize=s) for s in schemes})
    ref = next(iter(models["f32"].run(bench.inputs).values()))
    times = time_compiled(list(models.values()), bench.inputs, repeat)
    rows = []
    for (name, cm), ms in zip(models.items(), times):
        out = next(iter(cm.run(bench.inputs).values()))
        top1 = float(np.mean(out.argmax(-1) == ref.argmax(-1)))
        rows.append({"scheme": name, "ms": ms, "speedup": times[0] / ms, "param_mb": weight_bytes(cm) / 1e6,
                     "rel_err": relative_error(out, ref), "top1": top1})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["gpt2", "bert"], default="gpt2")
    parser.add_argument("--seq", type=int, default=1, help="tokens per run (default 1: one decode step)")
    parser.add_argument("--schemes", nargs="+", default=SCHEMES)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per system (default 20)")
    args = parser.parse_args(argv)
    rows = measure(args.model, args.seq, args.schemes, args.repeat)
    print(f"{args.model} seq {args.seq}, batch 1, -O3: kernforge float32 vs weight-only quantized")
    print_table(rows, [("scheme", "scheme", "<10"), ("ms", "ms", "9.2f"), ("speedup", "speedup", "8.2f"),
                       ("params MB", "param_mb", "11.1f"), ("rel err", "rel_err", "9.4f"), ("top-1", "top1", "7.0%")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
