"""Accuracy of each weight quantization scheme against float32: relative L2 error of the outputs and
top-1 agreement (per token for the language models, per image for ResNet-50), on the suite's
GPT-2-small-like and BERT-like models and the ResNet-50 light architecture, all with random weights.
The quantized math is run by the interpreter (the compiled kernels match it; tests/codegen).

python -m benchmarks.quant_accuracy [--models gpt2 bert resnet50] [--schemes w8 w4g128 ...] [--seq 8]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .quant_gemv import relative_error

SCHEMES = ["w8", "w4g32", "w4g128", "w3g128", "w2g128", "auto:4.5"]
MODELS = ["gpt2", "bert", "resnet50"]


def load(name: str, seq: int):
    from .models import bert, gpt2, light_model

    if name == "resnet50":
        return light_model("resnet50")
    return {"gpt2": gpt2, "bert": bert}[name](seq=seq)


def measure(name: str, schemes: list[str], seq: int) -> list[dict]:
    import kernforge
    from kernforge.ir import interpret

    bench = load(name, seq)
    (ref,) = list(interpret(kernforge.api.prepare(bench.onnx_path, opt_level=1), bench.inputs).values())[:1]
    rows = []
    for scheme in schemes:
        module = kernforge.api.prepare(bench.onnx_path, opt_level=1, quantize=scheme)
        quantized = sum(1 for n in module.main.nodes if n.op == "quant_dense")
        (out,) = list(interpret(module, bench.inputs).values())[:1]
        top1 = float(np.mean(out.reshape(-1, out.shape[-1]).argmax(-1) == ref.reshape(-1, ref.shape[-1]).argmax(-1)))
        rows.append({"model": name, "scheme": scheme, "layers": quantized, "rel_err": relative_error(out, ref),
                     "top1": top1})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("--schemes", nargs="+", default=SCHEMES)
    parser.add_argument("--seq", type=int, default=8, help="tokens per sequence for gpt2 and bert (default 8)")
    args = parser.parse_args(argv)
    print(f"{'model':<10}{'scheme':<10}{'layers':>7}{'rel err':>10}{'top-1':>8}")
    for name in args.models:
        for r in measure(name, args.schemes, args.seq):
            print(f"{r['model']:<10}{r['scheme']:<10}{r['layers']:>7}{r['rel_err']:>10.4f}{r['top1']:>8.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
