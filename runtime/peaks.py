"""This machine's peak GFLOP/s and GB/s: a short micro-benchmark, measured once and cached as JSON per host."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Peaks:
    """Peak float32 compute (GFLOP/s) and memory bandwidth (GB/s) of one host."""

    gflops: float
    gbps: float
    host: str = ""
    source: str = "measured"


# How the bandwidth peak is measured; cached peaks measured otherwise are taken again.
METHOD = "gemm+copy+read"


def cache_path() -> str:
    """$KERNFORGE_CACHE_DIR/peaks.json, else ~/.cache/kernforge/peaks.json."""
    root = os.environ.get("KERNFORGE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kernforge")
    return os.path.join(root, "peaks.json")


CPUINFO = "/proc/cpuinfo"


def host_key() -> str:
    """The cache key: CPU model name, logical core count and widest vector extension (a model name
    like "AMD EPYC" covers hosts with and without AVX-512)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open(CPUINFO) as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    vector = next((v for v in ("avx512f", "avx2", "neon", "asimd") if v in flags), None)
    return f"{model} x{os.cpu_count() or 1}" + (f" {vector}" if vector else "")


def best_seconds(fn: Callable[[], object], budget_s: float, min_runs: int = 3) -> float:
    """Fastest of repeated runs of fn, stopping after budget_s (but at least min_runs)."""
    fn()  # warm-up: page faults, thread pools
    best, start, runs = float("inf"), time.perf_counter(), 0
    while runs < min_runs or time.perf_counter() - start < budget_s:
        t0 = time.perf_counter()
        fn()
        best, runs = min(best, time.perf_counter() - t0), runs + 1
    return best


def measure_gemm_gflops(n: int = 1024, budget_s: float = 0.6) -> float:
    """GFLOP/s of an n x n x n float32 matmul through NumPy's BLAS (2 n^3 FLOPs)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    return 2 * n**3 / best_seconds(lambda: np.matmul(a, b, out=out), budget_s) / 1e9


def measure_copy_gbps(megabytes: int = 256, budget_s: float = 0.4, threads: int | None = None) -> float:
    """GB/s of copying a large array, split over threads (NumPy copies without the GIL); read + write bytes."""
    threads = threads or os.cpu_count() or 1
    src = np.ones(megabytes * 2**20 // 4, np.float32)
    dst = np.empty_like(src)
    chunks = np.array_split(np.arange(src.size), threads)
    bounds = [(int(c[0]), int(c[-1]) + 1) for c in chunks if c.size]
    with ThreadPoolExecutor(len(bounds)) as pool:
        def copy() -> None:
            list(pool.map(lambda lo_hi: np.copyto(dst[lo_hi[0]:lo_hi[1]], src[lo_hi[0]:lo_hi[1]]), bounds))

        best = best_seconds(copy, budget_s)
    return 2 * src.nbytes / best / 1e9


def measure_read_gbps(megabytes: int = 256, budget_s: float = 0.4) -> float:
    """GB/s of streaming a large matrix once through a matrix-vector product (NumPy's threaded BLAS): the
    read-only traffic of weight-streaming kernels, which a copy's write-allocate traffic understates."""
    n = int((megabytes * 2**20 // 4) ** 0.5)
    a, v = np.ones((n, n), np.float32), np.ones(n, np.float32)
    return a.nbytes / best_seconds(lambda: a @ v, budget_s) / 1e9


def measure_peaks(gemm_n: int = 1024, copy_mb: int = 256, extra_gflops: Callable[[], float] | None = None) -> Peaks:
    """Run the micro-benchmark (a few seconds); extra_gflops, e.g. a compiled GEMM, may raise the compute peak."""
    gflops = measure_gemm_gflops(gemm_n)
    if extra_gflops is not None:
        gflops = max(gflops, extra_gflops())
    copies = [measure_copy_gbps(copy_mb, threads=t) for t in {1, os.cpu_count() or 1}]
    return Peaks(gflops, max(*copies, measure_read_gbps(copy_mb)), host_key())


def _read_cache(path: str) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_peaks(peaks: Peaks, path: str | None = None) -> None:
    """Store peaks under their host key, keeping other hosts' entries."""
    path = path or cache_path()
    data = _read_cache(path)
    data[peaks.host or host_key()] = {"gflops": peaks.gflops, "gbps": peaks.gbps, "source": peaks.source,
                                      "method": METHOD, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def cached_peaks(path: str | None = None) -> Peaks | None:
    """This host's cached peaks, or None."""
    entry = _read_cache(path or cache_path()).get(host_key())
    if not isinstance(entry, dict) or not entry.get("gflops") or not entry.get("gbps"):
        return None
    if entry.get("source", "measured") == "measured" and entry.get("method") != METHOD:
        return None  # measured the older way: measure again
    return Peaks(float(entry["gflops"]), float(entry["gbps"]), host_key(), entry.get("source", "measured"))


def load_peaks(remeasure: bool = False, path: str | None = None, **measure_kwargs) -> Peaks:
    """Cached peaks of this host, measured (and cached) first when missing or when remeasure is set."""
    peaks = None if remeasure else cached_peaks(path)
    if peaks is None:
        peaks = measure_peaks(**measure_kwargs)
        save_peaks(peaks, path)
    return peaks

