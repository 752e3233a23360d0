"""Block fusion benchmark: a MobileNetV2 inverted-residual block (56x56, 24 -> 144 -> 24, batch 1,
residual add) compiled with fuse-ops only and with fuse-ops + block-fuse, timed interleaved; and the same
inside -O3 (NCHW8c layouts), without and with block-fuse, between two convs as in MobileNetV2.

python -m benchmarks.block_fusion [--repeat N] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import os

import numpy as np

from .kernels import interleaved_blocks


def _inverted_residual(f, x, c: int, e: int, w) -> object:
    """expand 1x1 + bias + relu6 -> depthwise 3x3 + bias + relu6 -> project 1x1 + bias -> + x."""
    y = f.op("clip", f.op("conv2d", x, f.param("w1", w(e, c, 1, 1)), f.param("b1", w(e))), min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w2", w(e, 1, 3, 3)), f.param("b2", w(e)), pads=[1, 1, 1, 1], group=e)
    y = f.op("clip", y, min=0.0, max=6.0)
    y = f.op("conv2d", y, f.param("w3", w(c, e, 1, 1)), f.param("b3", w(c)))
    return f.op("add", y, x)


def _weights():
    rng = np.random.default_rng(0)
    return lambda *s: (rng.standard_normal(s) * 0.1).astype(np.float32)


def block_module(c: int = 24, e: int = 144, hw: int = 56):
    """The inverted-residual block alone."""
    from kernforge.ir import Builder

    b = Builder("inverted_residual")
    f = b.function()
    f.ret(_inverted_residual(f, f.arg("x", [1, c, hw, hw]), c, e, _weights()))
    return b.module


def in_network(c: int = 24, e: int = 144, hw: int = 56):
    """The block between a 1x1 conv producing its input and one reading its output, so that -O3 keeps
    both blocked (NCHW8c), as inside MobileNetV2."""
    from kernforge.ir import Builder

    w = _weights()
    b = Builder("in_network")
    f = b.function()
    x = f.op("relu", f.op("conv2d", f.arg("x", [1, c, hw, hw]), f.param("w0", w(c, c, 1, 1))))
    f.ret(f.op("conv2d", _inverted_residual(f, x, c, e, w), f.param("w4", w(c, c, 1, 1))))
    return b.module


def compiled(pipeline: str, module=None):
    """The block compiled after `pipeline` (no other passes), and its kernel kinds."""
    import kernforge
    from kernforge.passes import run_pipeline

    mod = run_pipeline(copy.deepcopy(module or block_module()), pipeline)
    kinds = [n.attrs.get("kind", n.op) for n in mod.main.nodes]
    return kernforge.compile(mod, opt_level=0), kinds, mod


def _compare(label: str, pipelines: tuple[str, str], module, x, repeat: int) -> None:
    from kernforge.ir import interpret

    (base, base_kinds, mod), (fused, fused_kinds, _) = (compiled(p, module) for p in pipelines)
    ref = next(iter(interpret(mod, {"x": x}).values()))
    err = max(float(np.abs(next(iter(cm.run({"x": x}).values())) - ref).max()) for cm in (base, fused))
    t_base, t_fused = interleaved_blocks([lambda: base(x), lambda: fused(x)], repeat)
    print(f"{label}")
    print(f"  without block-fuse: {t_base:8.3f} ms  kernels {base_kinds}")
    print(f"  with block-fuse   : {t_fused:8.3f} ms  kernels {fused_kinds}")
    print(f"  speedup {t_base / t_fused:.2f}x   (max abs err vs interpreter {err:.2e})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=100)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="TVM thread pool size (default: all cores)")
    args = p.parse_args(argv)
    # As in benchmarks.kernels: threads unpinned; both are read when the first kernel runs.
    os.environ.setdefault("TVM_NUM_THREADS", str(args.threads))
    os.environ.setdefault("TVM_BIND_THREADS", "0")
    x = np.random.default_rng(1).standard_normal((1, 24, 56, 56)).astype(np.float32)
    _compare("the block alone, fuse-ops only vs fuse-ops,block-fuse (NCHW; target >= 1.2x):",
             ("fuse-ops", "fuse-ops,block-fuse"), block_module(), x, args.repeat)
    o3 = "O1,fold-batchnorm,canonicalize,layout,fuse-attention,fuse-ops"
    _compare("between two 1x1 convs, -O3 without vs with block-fuse (NCHW8c):", (o3, o3 + ",block-fuse"),
             in_network(), x, args.repeat)
    print(f"threads {os.environ['TVM_NUM_THREADS']}, median of {args.repeat} runs each, interleaved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
