"""Sparse kernels against kernforge's own dense kernel on the same (already pruned) weights, in one run,
interleaved, as speedups, at several shapes and densities. The sparse side is compiled with
sparsity=<scheme>, which detects the pattern (the cost rule may still keep a layer dense: the
`sparse op` column says what ran). Error: relative L2 against the dense kernel's output.

python -m benchmarks.sparsity [--repeat 30] [--cases gemv_2:4 bsr_16x1_0.8 ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

import numpy as np

from .kernels import interleaved_blocks
from .quant_gemv import print_table, relative_error, weight_bytes


@dataclass(frozen=True)
class Case:
    """One row: a layer with a pruned weight, and the compile options of each side."""

    name: str
    kind: str  # "linear" (x [rows, K] @ W.T) or "conv1x1" (x [1, K, H, W])
    rows: int  # rows of x, or pixels of the image
    k: int
    n: int
    scheme: str  # the sparsity pattern the weight is pruned to
    dense: dict = field(default_factory=dict)  # extra compile options of the dense side (quantize)
    sparse: dict = field(default_factory=dict)


def _mobilenet(name, k, n, side, sparsity):
    return Case(name, "conv1x1", side * side, k, n, f"unstructured:{sparsity}")


CASES = [
    Case("gemv 4096 2:4", "linear", 1, 4096, 4096, "2:4"),
    Case("gemv 4096 1:4", "linear", 1, 4096, 4096, "1:4"),
    Case("gemv 4096 2:8", "linear", 1, 4096, 4096, "2:8"),
    Case("gemv 4096 2:4+w4g128 vs w4g128", "linear", 1, 4096, 4096, "2:4", {"quantize": "w4g128"},
         {"quantize": "w4g128"}),
    # the N:M + int4 kernel itself, on an AVX-512 target without BF16 (where the cost rule keeps it);
    # the dense side stays this host's best int4 kernel
    Case("gemv 4096 2:4+w4g128 N:M kernel", "linear", 1, 4096, 4096, "2:4", {"quantize": "w4g128"},
         {"quantize": "w4g128", "target": {"kind": "llvm", "mcpu": "skylake-avx512"}}),
    Case("gemm 128x768x768 2:4", "linear", 128, 768, 768, "2:4"),
    Case("gemm 128x3072x768 2:4", "linear", 128, 3072, 768, "2:4"),
    Case("gemm 128x768x768 1:4", "linear", 128, 768, 768, "1:4"),
    Case("gemm 128x768x768 2:8", "linear", 128, 768, 768, "2:8"),
    Case("gemm 128x768^2 2:4+w4g128 vs w4g128", "linear", 128, 768, 768, "2:4", {"quantize": "w4g128"},
         {"quantize": "w4g128"}),
    Case("gemm 1024^3 bsr16x1 80%", "linear", 1024, 1024, 1024, "bsr:16x1:0.8"),
    Case("gemm 1024^3 bsr16x1 90%", "linear", 1024, 1024, 1024, "bsr:16x1:0.9"),
    Case("gemv 4096 csr 90%", "linear", 1, 4096, 4096, "unstructured:0.9"),
    _mobilenet("conv1x1 144->24 56x56 csr 90%", 144, 24, 56, 0.9),
    _mobilenet("conv1x1 24->144 56x56 csr 90%", 24, 144, 56, 0.9),
    _mobilenet("conv1x1 192->32 28x28 csr 90%", 192, 32, 28, 0.9),
    _mobilenet("conv1x1 192->32 28x28 csr 70%", 192, 32, 28, 0.7),
    _mobilenet("conv1x1 192->32 28x28 csr 95%", 192, 32, 28, 0.95),
]


def case_module(case: Case, seed: int = 0):
    """The layer with its weight magnitude-pruned to the case's pattern, and an input."""
    from kernforge.ir import Builder
    from kernforge.ir.sparsity import SparsityScheme, prune

    rng = np.random.default_rng(seed)
    scheme = SparsityScheme.parse(case.scheme)
    w = prune((rng.standard_normal((case.n, case.k)) * 0.02).astype(np.float32), scheme)
    b = Builder("layer")
    f = b.function()
    if case.kind == "linear":
        x = f.arg("x", [case.rows, case.k])
        f.ret(f.op("matmul", x, b.param("w", np.ascontiguousarray(w.T))))
        shape = (case.rows, case.k)
    else:
        side = int(round(case.rows ** 0.5))
        x = f.arg("x", [1, case.k, side, side])
        f.ret(f.op("conv2d", x, b.param("w", w[:, :, None, None])))
        shape = (1, case.k, side, side)
    return b.module, rng.standard_normal(shape).astype(np.float32)


def measure(cases: list[Case], repeat: int) -> list[dict]:
    import kernforge

    built = []
    for case in cases:
        module, x = case_module(case)
        dense = kernforge.compile(module, **case.dense)
        sparse = kernforge.compile(module, sparsity=case.scheme, **case.sparse)
        built.append((case, dense, sparse, x))
    fns = []
    for _, dense, sparse, x in built:
        for cm in (dense, sparse):
            cm.executor.bind([x])
            fns.append(cm.executor.execute)
    times = interleaved_blocks(fns, repeat)
    rows = []
    for i, (case, dense, sparse, x) in enumerate(built):
        (ref,) = dense.run([x]).values()
        (out,) = sparse.run([x]).values()
        op = next((o for o in ("nm_quant_linear", "nm_linear", "bsr_linear", "csr_linear") if f"{o}(" in sparse.ir()),
                  "dense")
        rows.append({"case": case.name, "dense_ms": times[2 * i], "sparse_ms": times[2 * i + 1],
                     "speedup": times[2 * i] / times[2 * i + 1], "op": op,
                     "mb": weight_bytes(sparse) / 1e6, "dense_mb": weight_bytes(dense) / 1e6,
                     "rel_err": relative_error(out, ref)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per kernel (default 30)")
    parser.add_argument("--cases", nargs="+", help="substrings of the case names to run (default: all)")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.cases or any(s in c.name for s in args.cases)]
    rows = measure(cases, args.repeat)
    print("sparse vs dense kernforge kernels, same pruned weights, one run, interleaved")
    print_table(rows, [("case", "case", "<38"), ("sparse op", "op", "<16"), ("dense ms", "dense_ms", "9.3f"),
                       ("sparse ms", "sparse_ms", "10.3f"), ("speedup", "speedup", "8.2f"), ("MB", "mb", "7.1f"),
                       ("dense MB", "dense_mb", "9.1f"), ("rel err", "rel_err", "9.1e")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
