"""Weight-only quantized GEMV: kernforge float32 vs each quantization scheme at batch 1, in one run,
interleaved, as speedups; with the bytes of weights read, the achieved weight bandwidth as a share
of this host's measured memory bandwidth (runtime/peaks.py), and the output error against float32.
The caches are evicted before each call (as in batch-1 decoding, where every layer's weights come
from memory): 9 MB of 4-bit weights would otherwise stay in L3 and measure the cache, not memory.

With --rows R > 1 the same layer multiplies R rows of x (a GEMM, as in prefill: compute-bound, so
the bandwidth columns then say little).

python -m benchmarks.quant_gemv [--size 4096] [--rows 1] [--schemes w8 w4g128 w3g128 w2g128] [--repeat 50] [--warm]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .kernels import CacheEvictor, time_compiled

SCHEMES = ["w8", "w4g128", "w3g128", "w2g128"]


def gemv_module(size: int, rows: int = 1):
    from kernforge.ir import Builder

    b = Builder("gemv")
    f = b.function()
    x = f.arg("x", [rows, size])
    w = b.param("w", (np.random.default_rng(1).standard_normal((size, size)) * 0.02).astype(np.float32))
    f.ret(f.op("matmul", x, w))
    return b.module


def weight_bytes(cm) -> int:
    """Bytes of the constants the kernels read: packed codes, scales and offsets (or the float weight)."""
    return sum(a.nbytes for a in cm.executor.param_arrays.values())


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def measure(size: int, schemes: list[str], repeat: int, cold: bool = True, rows: int = 1) -> list[dict]:
    import kernforge
    from kernforge.runtime.peaks import load_peaks

    module = gemv_module(size, rows)
    x = np.random.default_rng(2).standard_normal((rows, size)).astype(np.float32)
    models = {"f32": kernforge.compile(module)}
    # w8a8's static activation scale comes from calibration inputs of the same distribution
    calibration = {"w8a8": [[np.random.default_rng(3).standard_normal((rows, size)).astype(np.float32)]]}
    models.update({s: kernforge.compile(module, quantize=s, calibration=calibration.get(s)) for s in schemes})
    (ref,) = models["f32"].run([x]).values()
    times = time_compiled(list(models.values()), [x], repeat, before=CacheEvictor() if cold else None)
    gbps = load_peaks().gbps
    table = []
    for (name, cm), ms in zip(models.items(), times):
        (out,) = cm.run([x]).values()
        moved = weight_bytes(cm)
        table.append({"scheme": name, "ms": ms, "speedup": times[0] / ms, "weight_mb": moved / 1e6,
                     "bits_per_weight": 8 * moved / size**2, "gbps": moved / ms / 1e6,
                     "bw_share": moved / ms / 1e6 / gbps, "rel_err": relative_error(out, ref)})
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="N = K of the weight (default 4096)")
    parser.add_argument("--schemes", nargs="+", default=SCHEMES, help="quantization schemes to compare")
    parser.add_argument("--rows", type=int, default=1, help="rows of x (default 1: a GEMV; more: a GEMM)")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per system (default 50)")
    parser.add_argument("--warm", action="store_true",
                        help="keep the caches warm between calls (default: evict them, so weights come from memory)")
    args = parser.parse_args(argv)
    rows = measure(args.size, args.schemes, args.repeat, cold=not args.warm, rows=args.rows)
    caches = "warm caches" if args.warm else "weights read from memory (caches evicted before each call)"
    kind = "GEMV" if args.rows == 1 else "GEMM"
    print(f"{kind} {args.rows}x{args.size} @ {args.size}x{args.size}, kernforge float32 vs weight-only quantized, "
          f"{caches}")
    print_table(rows, [("scheme", "scheme", "<10"), ("ms", "ms", "8.3f"), ("speedup", "speedup", "8.2f"),
                       ("MB", "weight_mb", "8.1f"), ("bits/w", "bits_per_weight", "8.2f"), ("GB/s", "gbps", "7.1f"),
                       ("of peak", "bw_share", "9.0%"), ("rel err", "rel_err", "9.4f")])
    return 0


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """A header line, then one line per row; columns are (header, key, format spec), and a spec that
    starts with "<" is a left-aligned text column of that width."""
    width = lambda spec: int(spec.lstrip("<").split(".")[0].rstrip("fd%"))
    print("".join(f"{h:{'<' if spec[0] == '<' else '>'}{width(spec)}}" for h, _, spec in columns))
    for r in rows:
        print("".join(f"{r[key]:{spec}}" for _, key, spec in columns))

if __name__ == "__main__":
    sys.exit(main())
