"""Accuracy of each weight quantization scheme against float32: relative L2 error of the outputs and
top-1 agreement (per token for the language models, per image for ResNet-50), on the suite's
GPT-2-small-like and BERT-like models and the ResNet-50 light architecture, all with random weights.
The quantized math is run by the interpreter (the compiled kernels match it; tests/codegen). GPTQ
and mixed-precision (auto:) schemes calibrate on 8 random input sets shaped like the evaluation inputs.

python -m benchmarks.quant_accuracy [--models gpt2 bert resnet50] [--schemes w8 w4g128 ...] [--seq 8]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .quant_gemv import print_table, relative_error

SCHEMES = ["w8", "w8a8", "w4g32", "w4g128", "w4g128-gptq", "w3g128", "w3g128-gptq", "w3-spqr", "wbcq3", "w2g128",
           "auto:4.5"]
QUANTIZED_OPS = ("quant_dense", "bcq_dense", "spqr_dense", "int8_dense")
MODELS = ["gpt2", "bert", "resnet50"]


def load(name: str, seq: int):
    from .models import bert, gpt2, light_model

    if name == "resnet50":
        return light_model("resnet50")
    return {"gpt2": gpt2, "bert": bert}[name](seq=seq)


def calibration_inputs(like: list[np.ndarray], count: int = 8) -> list[list[np.ndarray]]:
    """Random input sets shaped like the evaluation inputs: token ids drawn below their maximum, a 0/1
    attention mask (the second input) all ones, float inputs standard normal."""
    rng = np.random.default_rng(123)
    draw = lambda a: (rng.integers(0, max(2, int(a.max()) + 1), a.shape).astype(a.dtype) if a.dtype.kind in "iu"
                      else rng.standard_normal(a.shape).astype(a.dtype))
    return [[np.ones_like(a) if i == 1 and a.dtype.kind in "iu" and a.max() <= 1 else draw(a)
             for i, a in enumerate(like)] for _ in range(count)]


def measure(name: str, schemes: list[str], seq: int) -> list[dict]:
    import kernforge
    from kernforge.ir import interpret

    bench = load(name, seq)
    (ref,) = list(interpret(kernforge.api.prepare(bench.onnx_path, opt_level=1), bench.inputs).values())[:1]
    rows = []
    calibrated = lambda s: s.endswith("-gptq") or s.startswith("auto") or s == "w8a8"
    calibration = calibration_inputs(bench.inputs) if any(map(calibrated, schemes)) else None
    for scheme in schemes:
        module = kernforge.api.prepare(bench.onnx_path, opt_level=1, quantize=scheme,
                                       calibration=calibration if calibrated(scheme) else None)
        quantized = sum(1 for n in module.main.nodes if n.op in QUANTIZED_OPS)
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
    rows = [r for name in args.models for r in measure(name, args.schemes, args.seq)]
    print_table(rows, [("model", "model", "<10"), ("scheme", "scheme", "<13"), ("layers", "layers", "7d"),
                       ("rel err", "rel_err", "10.4f"), ("top-1", "top1", "8.0%")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
