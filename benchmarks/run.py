"""Side-by-side model benchmark: kernforge, onnxruntime, torch, torch.compile, TVM Relax (and NumPy on the
matmuls), timed in one run, interleaved, with kernforge's ratio to onnxruntime and a correctness check.

python -m benchmarks.run [--models resnet50 gemm_1024 ...] [--systems kernforge onnxruntime ...]
                         [--repeat N] [--budget S] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

from .models import SUITE
from .systems import SYSTEMS, Prepared

REFERENCE, OURS = "onnxruntime", "kernforge"


def one_line(exc: BaseException) -> str:
    """'error: Type: message' on one line (the last line of a TVM traceback, else the first line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]
    msg = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")
    return f"error: {type(exc).__name__}: {msg}"[:300]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare_all(model, names: list[str]) -> tuple[dict[str, Prepared], dict[str, object]]:
    """Prepare every system that applies; cells get None (not applicable) or an 'error: ...' string."""
    ready, cells = {}, {}
    for name in names:
        system = SYSTEMS[name]
        if not system.applies(model):
            cells[name] = None
            continue
        try:
            with contextlib.redirect_stdout(sys.stderr):  # importers that print must not break the table
                ready[name] = system.prepare(model)
            log(f"  {model.name}: {name} ready in {ready[name].prepare_s:.1f} s")
        except Exception as e:  # noqa: BLE001 - one system's failure must not end the run
            cells[name] = one_line(e)
            log(f"  {model.name}: {name} {cells[name]}")
    return ready, cells


def _call(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def strides(call_s: dict[str, float], repeat: int, budget_s: float) -> dict[str, int]:
    """Run every round, or only every k-th one for a system whose `repeat` calls would overrun budget_s."""
    return {k: min(repeat, max(1, math.ceil(s * repeat * (BLOCK + 1) / budget_s))) for k, s in call_s.items()}


# Each system's turn in a round: a pause, then one untimed call, then BLOCK timed calls. The thread pools
# of onnxruntime, TVM and OpenBLAS spin a while after each call and would tax whichever system ran next;
# the pause and the warm-up call absorb that, so every system is timed in its own steady state. OpenBLAS
# (NumPy) spins longest: 2^28 cycles by default, about 0.1 s; a 0.05 s pause left the next system at half
# speed on 2 cores (1024^3 GEMM: 21.5 ms after NumPy's turn, 11.5-11.9 ms with 0.2 s).
SETTLE_S, BLOCK = 0.2, 2


def interleaved(fns: dict[str, Callable[[], object]], call_s: dict[str, float], repeat: int,
                budget_s: float) -> tuple[dict, dict]:
    """Median ms per system over `repeat` rounds; each round gives every system a turn (see BLOCK), in a
    rotated order, so drift on the host hits all of them alike."""
    stride, live, out = strides(call_s, repeat, budget_s), dict(fns), {}
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for r in range(repeat):
        for name in order[r % len(order):] + order[:r % len(order)]:
            if name not in live or r % stride[name]:
                continue
            try:
                times[name] += _turn(live[name], 1 if stride[name] > 1 else BLOCK)
            except Exception as e:  # noqa: BLE001
                out[name] = one_line(e)
                del live[name]
    for name in live:
        out[name] = float(np.median(times[name]))
    return out, {k: len(times[k]) for k in live}


def _turn(fn: Callable[[], object], calls: int) -> list[float]:
    time.sleep(SETTLE_S)
    fn()
    return [_call(fn) * 1e3 for _ in range(calls)]


def compare(ours: list[np.ndarray], ref: list[np.ndarray], rtol: float, atol: float) -> tuple[float, float, bool]:
    """Max abs error, max error relative to the reference's peak, and OK: np.allclose at rtol/atol and,
    so that tiny outputs (softmax of 1000 classes) cannot pass on atol alone, abs error <= rtol * peak."""
    if len(ours) != len(ref) or any(np.size(a) != np.size(b) for a, b in zip(ours, ref)):
        return math.inf, math.inf, False
    err, rel, ok = 0.0, 0.0, True
    for a, b in zip(ours, ref):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64).reshape(np.shape(a))
        if not a.size:
            continue
        e, peak = float(np.max(np.abs(a - b))), float(np.max(np.abs(b)))
        err, rel = max(err, e), max(rel, e / peak if peak else (0.0 if e == 0 else math.inf))
        ok = ok and bool(np.allclose(a, b, rtol=rtol, atol=atol)) and e <= rtol * peak + 1e-30
    return err, rel, ok


def bench_row(key: str, systems: list[str], repeat: int, budget_s: float) -> dict:
    """Build one model, prepare every system, check outputs against onnxruntime, time them interleaved."""
    try:
        model = SUITE[key]()
    except Exception as e:  # noqa: BLE001
        return {"model": key, "latency_ms": dict.fromkeys(systems, one_line(e)), "check": "n/a"}
    ready, cells = prepare_all(model, systems)
    ref = ready.get(REFERENCE)
    errors = {k: compare(p.outputs, ref.outputs, model.rtol, model.atol)[0] for k, p in ready.items()} if ref else {}
    times, runs = interleaved({k: p.fn for k, p in ready.items()}, {k: p.call_s for k, p in ready.items()},
                              repeat, budget_s)
    cells.update(times)
    row = {"model": model.name, "latency_ms": {k: cells[k] for k in systems}, "runs": runs,
           "prepare_s": {k: p.prepare_s for k, p in ready.items()}, "max_abs_err_vs_ort": errors,
           "rtol": model.rtol, "atol": model.atol, "check": "n/a", "max_abs_err": None, "max_rel_err": None,
           "compile_s": ready[OURS].prepare_s if OURS in ready else None, "ratio": None}
    if OURS in ready and ref:
        err, rel, ok = compare(ready[OURS].outputs, ref.outputs, model.rtol, model.atol)
        row.update(max_abs_err=err, max_rel_err=rel, check="OK" if ok else "MISMATCH")
    if isinstance(cells.get(OURS), float) and isinstance(cells.get(REFERENCE), float):
        row["ratio"] = cells[OURS] / cells[REFERENCE]
    if model.flops:
        row["gflops"] = {k: model.flops / (v * 1e6) for k, v in cells.items() if isinstance(v, float)}
    return row


def host_info() -> dict:
    """CPU model, core count, date and versions: the context a table needs to be read."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for mod in ("kernforge", "tvm", "onnxruntime", "torch", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "date": datetime.datetime.now().astimezone().isoformat(
        timespec="seconds"), "platform": platform.platform(), "versions": versions}


def _cell(v) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else "error"


def header(systems: list[str]) -> str:
    cols = "".join(f"{SYSTEMS[s].label:>14}" for s in systems)
    return f"{'model (ms)':<18}{cols} {'kf/ort':>7} {'max err':>9} {'check':>8} {'compile s':>9}"


def format_row(row: dict, systems: list[str]) -> str:
    """The table line, then one note per failed system and, for matmuls, GFLOP/s vs NumPy."""
    cols = "".join(f"{_cell(row['latency_ms'].get(s)):>14}" for s in systems)
    ratio, err, cs = row.get("ratio"), row.get("max_abs_err"), row.get("compile_s")
    lines = [f"{row['model']:<18}{cols} {_cell(ratio):>7} {'-' if err is None else f'{err:.1e}':>9} "
             f"{row['check']:>8} {'-' if cs is None else f'{cs:.1f}':>9}"]
    failed: dict[str, list[str]] = {}
    for s, v in row["latency_ms"].items():
        if isinstance(v, str):
            failed.setdefault(v, []).append(SYSTEMS[s].label)
    lines += [f"    {', '.join(labels)}: {msg}" for msg, labels in failed.items()]
    gf = row.get("gflops", {})
    if gf:
        vs = f"   kernforge/numpy {gf[OURS] / gf['numpy']:.2f}" if OURS in gf and "numpy" in gf else ""
        lines.append("    GFLOP/s: " + ", ".join(f"{SYSTEMS[k].label} {v:.1f}" for k, v in gf.items()) + vs)
    return "\n".join(lines)


def geomean(rows: list[dict]) -> float | None:
    ratios = [r["ratio"] for r in rows if r.get("ratio")]
    return float(np.exp(np.mean(np.log(ratios)))) if ratios else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    p.add_argument("--repeat", type=int, default=20, help="interleaved rounds (default 20)")
    p.add_argument("--budget", type=float, default=60.0, help="timing seconds per system and model before a "
                   "slow system is sampled in fewer rounds (default 60)")
    p.add_argument("--json", metavar="OUT", help="write rows and host info as JSON")
    args = p.parse_args(argv)
    systems = [s for s in SYSTEMS if s in args.systems]
    host = host_info()
    print(f"# {host['cpu']}, {host['cores']} cores, {host['date']}; median over {args.repeat} interleaved rounds "
          f"of {BLOCK} runs per system",
          flush=True)
    print(header(systems), flush=True)
    rows = []
    for key in args.models:
        rows.append(bench_row(key, systems, args.repeat, args.budget))
        print(format_row(rows[-1], systems), flush=True)
        gc.collect()
    gm = geomean(rows)
    n = sum(1 for r in rows if r.get("ratio"))
    print(f"geomean kernforge/onnxruntime: {'-' if gm is None else f'{gm:.2f}'} over {n} models", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host": host, "repeat": args.repeat, "systems": systems, "rows": rows,
                       "geomean_ratio": gm}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
