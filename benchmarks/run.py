"""Side-by-side model benchmark: kernforge vs onnxruntime, in one run, interleaved, as a ratio.

python -m benchmarks.run [--models light_resnet50 ...] [--repeat N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from .models import randomize_light_weights


def light(name: str):
    import onnx

    from kernforge.demo import light_model_dir

    return randomize_light_weights(onnx.load(os.path.join(light_model_dir(), name + ".onnx")))


MODELS = {
    "resnet50": lambda: light("light_resnet50"),
    "squeezenet": lambda: light("light_squeezenet"),
    "inception_v1": lambda: light("light_inception_v1"),
    "densenet121": lambda: light("light_densenet121"),
    "shufflenet": lambda: light("light_shufflenet"),
    "vgg19": lambda: light("light_vgg19"),
}


def bench_model(name: str, repeat: int) -> dict:
    """Compile with kernforge, check against onnxruntime on the same inputs, time both interleaved."""
    import onnxruntime as ort

    import kernforge
    from kernforge.runtime.profiling import interleaved_medians, ort_feed

    model = MODELS[name]()
    t0 = time.perf_counter()
    cm = kernforge.compile(model, opt_level=3)
    compile_s = time.perf_counter() - t0
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inputs = cm.random_inputs()
    feed = ort_feed(sess, inputs)
    ours, theirs = list(cm.run(inputs).values()), sess.run(None, feed)
    err = max(float(np.max(np.abs(a - b.reshape(a.shape)))) for a, b in zip(ours, theirs))
    cm.executor.bind(inputs)
    kf_ms, ort_ms = interleaved_medians([cm.executor.execute, lambda: sess.run(None, feed)], repeat)
    return {"model": name, "kernforge_ms": kf_ms, "onnxruntime_ms": ort_ms, "ratio": kf_ms / ort_ms,
            "max_abs_err": err, "kernels": len(cm.executor.plan.kernels), "compile_s": compile_s}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--json", metavar="OUT")
    args = p.parse_args(argv)
    rows = []
    print(f"{'model':<14} {'kernforge ms':>13} {'onnxruntime ms':>15} {'kf/ort':>7} {'max err':>9} {'compile s':>9}")
    for name in args.models:
        r = bench_model(name, args.repeat)
        rows.append(r)
        print(f"{name:<14} {r['kernforge_ms']:>13.2f} {r['onnxruntime_ms']:>15.2f} {r['ratio']:>7.2f} "
              f"{r['max_abs_err']:>9.1e} {r['compile_s']:>9.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host_cpu": os.cpu_count(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
