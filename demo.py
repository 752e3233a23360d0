"""`kernforge demo`: compile a real model shipped in the onnx wheel, check it, time it beside onnxruntime."""

from __future__ import annotations

import os
import time

import numpy as np

from .errors import KernforgeError

LIGHT_MODELS = ("light_resnet50", "light_squeezenet", "light_inception_v1", "light_densenet121",
                "light_shufflenet", "light_vgg19", "light_zfnet512", "light_bvlc_alexnet", "light_inception_v2")


def light_model_dir() -> str:
    import onnx

    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def light_model(name: str) -> tuple[str, np.ndarray]:
    """Path of a light model and its reference output."""
    from onnx import TensorProto, numpy_helper

    if name not in LIGHT_MODELS:
        raise KernforgeError(f"unknown demo model '{name}'; choose one of {', '.join(LIGHT_MODELS)}")
    base = os.path.join(light_model_dir(), name)
    proto = TensorProto()
    with open(base + "_output_0.pb", "rb") as f:
        proto.ParseFromString(f.read())
    return base + ".onnx", numpy_helper.to_array(proto)


def _ort_session(path: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # the light models carry an unused initializer ORT warns about
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def run_demo(name: str = "light_resnet50", repeat: int = 20, echo=print) -> dict:
    """Compile, check against the shipped reference and onnxruntime, and time both sides."""
    from .api import compile
    from .runtime.profiling import interleaved_medians, ort_feed

    path, expected = light_model(name)
    echo(f"model      {path}")
    t0 = time.perf_counter()
    cm = compile(path)
    echo(f"compiled   {len(cm.executor.plan.kernels)} kernels, {len(cm.executor.plan.steps)} calls "
         f"in {time.perf_counter() - t0:.1f} s for {cm.meta['target']}")
    inputs = cm.random_inputs()
    ours = cm.run(inputs)
    sess = _ort_session(path)
    theirs = sess.run(None, ort_feed(sess, inputs))
    first = next(iter(ours.values()))
    ref_err = float(np.max(np.abs(first - expected.reshape(first.shape))))
    ort_err = float(np.max(np.abs(first - theirs[0].reshape(first.shape))))
    ok = np.allclose(first, expected.reshape(first.shape), rtol=1e-3, atol=1e-4) and \
        np.allclose(first, theirs[0], rtol=1e-3, atol=1e-4)
    echo(f"check      max |kernforge - reference| = {ref_err:.2e}, max |kernforge - onnxruntime| = {ort_err:.2e}"
         f"  {'OK' if ok else 'MISMATCH'}")
    cm.executor.bind(inputs)
    feed = ort_feed(sess, inputs)
    kf_ms, ort_ms = interleaved_medians([cm.executor.execute, lambda: sess.run(None, feed)], repeat)
    echo(f"latency    kernforge {kf_ms:.2f} ms   onnxruntime {ort_ms:.2f} ms   "
         f"(kernforge/onnxruntime = {kf_ms / ort_ms:.2f}x, median of {repeat}, interleaved)")
    if not ok:
        raise KernforgeError(f"demo model {name} does not match its reference output")
    return {"model": name, "kernforge_ms": kf_ms, "onnxruntime_ms": ort_ms, "max_err": max(ref_err, ort_err)}
