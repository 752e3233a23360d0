"""Pruned models end to end: kernforge dense float32 vs the same model magnitude-pruned to each
sparsity scheme and compiled with sparse kernels, on the suite's BERT-base-like model (random
weights), in one run, interleaved. Correctness: the sparse model against the interpreter on its own
pruned IR (pruning changes the model, so float32 dense is not the reference).

With --quantize SCHEME both sides are quantized (e.g. w4g128): the pruned side's kept values, the dense
side's whole weights; the speedup is then sparse + quantized against quantized alone.

python -m benchmarks.sparse_models [--model bert] [--seq 128] [--schemes 2:4 1:4] [--layers 12] [--repeat 10]
                                   [--quantize w4g128]
"""

from __future__ import annotations

import argparse
import sys

from .kernels import time_compiled
from .quant_gemv import print_table, relative_error, weight_bytes

SCHEMES = ["2:4", "1:4"]


def load(model: str, seq: int, layers: int):
    from .models import bert, gpt2

    return {"gpt2": lambda: gpt2(layers=layers, seq=seq), "bert": lambda: bert(layers=layers, seq=seq)}[model]()


def measure(model: str, seq: int, layers: int, schemes: list[str], repeat: int, opt_level: int = 3,
            quantize: str | None = None) -> list[dict]:
    import kernforge
    from kernforge.ir import interpret
    from kernforge.passes.target_traits import target_traits

    bench = load(model, seq, layers)
    models = {"dense": kernforge.compile(bench.onnx_path, opt_level=opt_level, quantize=quantize)}
    models.update({s: kernforge.compile(bench.onnx_path, opt_level=opt_level, sparsity=s, prune=True, quantize=quantize)
                   for s in schemes})
    times = time_compiled(list(models.values()), bench.inputs, repeat)
    rows, traits = [], kernforge.api.traits_of(None)
    for (name, cm), ms in zip(models.items(), times):
        out = next(iter(cm.run(bench.inputs).values()))
        with target_traits(traits):  # the IR compile made for this CPU
            prepared = kernforge.api.prepare(bench.onnx_path, opt_level=opt_level, quantize=quantize,
                                             sparsity=None if name == "dense" else name, prune=name != "dense")
        want = next(iter(interpret(prepared, bench.inputs).values()))
        rows.append({"scheme": name, "ms": ms, "speedup": times[0] / ms, "param_mb": weight_bytes(cm) / 1e6,
                     "kernels": cm.ir().count("_linear("), "rel_err": relative_error(out, want)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["bert", "gpt2"], default="bert")
    parser.add_argument("--seq", type=int, default=128, help="tokens per run (default 128)")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--schemes", nargs="+", default=SCHEMES)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per system (default 10)")
    parser.add_argument("--quantize", help="quantize both sides with this scheme (e.g. w4g128)")
    args = parser.parse_args(argv)
    rows = measure(args.model, args.seq, args.layers, args.schemes, args.repeat, quantize=args.quantize)
    both = f", both quantized {args.quantize}" if args.quantize else ""
    print(f"{args.model} ({args.layers} layers) seq {args.seq}, batch 1, -O3: dense vs pruned + sparse kernels{both}")
    print_table(rows, [("scheme", "scheme", "<10"), ("ms", "ms", "9.2f"), ("speedup", "speedup", "8.2f"),
                       ("params MB", "param_mb", "11.1f"), ("sparse ops", "kernels", "11d"),
                       ("err vs interp", "rel_err", "14.2e")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
