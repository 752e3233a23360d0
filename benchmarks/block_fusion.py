"""Block fusion benchmark: a MobileNetV2 inverted-residual block (56x56, 24 -> 144 -> 24, batch 1,
residual add) compiled with fuse-ops only and with fuse-ops + block-fuse, timed interleaved.

python -m benchmarks.block_fusion [--repeat N] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import os

import numpy as np

from .kernels import interleaved_blocks


def block_module(c: int = 24, e: int = 144, hw: int = 56):
    """expand 1x1 + bias + relu6 -> depthwise 3x3 + bias + relu6 -> project 1x1 + bias -> + x."""
    from kernforge.ir import Builder

    rng = np.random.default_rng(0)
    w = lambda *s: (rng.standard_normal(s) * 0.1).astype(np.float32)
    b = Builder("inverted_residual")
    f = b.function()
    x = f.arg("x", [1, c, hw, hw])
    y = f.op("clip", f.op("conv2d", x, f.param("w1", w(e, c, 1, 1)), f.param("b1", w(e))), min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w2", w(e, 1, 3, 3)), f.param("b2", w(e)), pads=[1, 1, 1, 1], group=e)
    y = f.op("clip", y, min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w3", w(c, e, 1, 1)), f.param("b3", w(c)))
    f.ret(f.op("add", y, x))
    return b.module


def compiled(pipeline: str):
    """The block compiled after `pipeline` (no other passes), and its kernel kinds."""
    import kernforge
    from kernforge.passes import run_pipeline

    mod = run_pipeline(copy.deepcopy(block_module()), pipeline)
    kinds = [n.attrs.get("kind", n.op) for n in mod.main.nodes]
    return kernforge.compile(mod, opt_level=0), kinds, mod


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=100)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="TVM thread pool size (default: all cores)")
    args = p.parse_args(argv)
    # As in benchmarks.kernels: threads unpinned; both are read when the first kernel runs.
    os.environ.setdefault("TVM_NUM_THREADS", str(args.threads))
    os.environ.setdefault("TVM_BIND_THREADS", "0")
    from kernforge.ir import interpret

    base, base_kinds, mod = compiled("fuse-ops")
    fused, fused_kinds, _ = compiled("fuse-ops,block-fuse")
    x = np.random.default_rng(1).standard_normal((1, 24, 56, 56)).astype(np.float32)
    ref = next(iter(interpret(mod, {"x": x}).values()))
    err = max(float(np.abs(next(iter(cm.run({"x": x}).values())) - ref).max()) for cm in (base, fused))
    t_base, t_fused = interleaved_blocks([lambda: base(x), lambda: fused(x)], args.repeat)
    print(f"fuse-ops only        : {t_base:8.3f} ms  kernels {base_kinds}")
    print(f"fuse-ops + block-fuse: {t_fused:8.3f} ms  kernels {fused_kinds}")
    print(f"threads {os.environ['TVM_NUM_THREADS']}, median of {args.repeat} runs each, interleaved")
    print(f"speedup {t_base / t_fused:.2f}x   (max abs err vs interpreter {err:.2e}; target >= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
