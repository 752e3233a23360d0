"""The ONNX backend conformance suite (onnx.backend.test node tests) run through kernforge.

    python -m kernforge.benchmarks.onnx_conformance [--mode interp|compiled] [--json OUT]
        [-k/--filter REGEX] [--limit N] [-j JOBS] [--progress]

Mode `interp` runs each model in the IR interpreter; `compiled` compiles it with
kernforge.compile for the host CPU (one tvm.compile per test, ~0.3-1 s each) and runs that.

The node test cases are generated locally from the `onnx` package's own case definitions
(onnx.backend.test.case.node): BackendTest builds every case model and its expected outputs
in memory, so no test data is downloaded or stored. Tests matching a pattern in
tests/frontends/onnx_excluded.txt are skipped. The last line printed is `N passed, M failed, K skipped`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
import traceback
import unittest
import warnings
from pathlib import Path

EXCLUDED = Path(__file__).resolve().parents[1] / "tests" / "frontends" / "onnx_excluded.txt"
SUITE = "OnnxBackendNodeModelTest"


def load_exclusions(path: Path = EXCLUDED) -> list[tuple[str, str]]:
    """(regex, reason) per line `REGEX  # reason`; every pattern must give a reason."""
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise ValueError(f"{path}:{lineno}: an excluded pattern needs a reason after '#'")
        out.append((pattern.strip(), reason.strip()))
    return out


def node_test_class(mode: str = "interp") -> type[unittest.TestCase]:
    """The BackendTest TestCase class holding every node test, with exclusions applied."""
    import onnx.backend.test

    from kernforge.frontends.onnx_backend import CompiledKernforgeBackend, KernforgeBackend

    backends = {"interp": KernforgeBackend, "compiled": CompiledKernforgeBackend}
    if mode not in backends:
        raise ValueError(f"unknown mode {mode!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators overflow casts on purpose
        bt = onnx.backend.test.BackendTest(backends[mode], __name__)
    for pattern, _ in load_exclusions():
        bt.exclude(pattern)
    return bt.test_cases[SUITE]


class _Recorder(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.status: dict[str, tuple[str, str]] = {}

    def addSuccess(self, test):
        self.status[test._testMethodName] = ("passed", "")

    def addFailure(self, test, err):
        self.status[test._testMethodName] = ("failed", _describe(err))

    addError = addFailure

    def addSkip(self, test, reason):
        self.status[test._testMethodName] = ("skipped", reason)


def _describe(err) -> str:
    kind, value, _ = err
    return f"{kind.__name__}: {str(value).strip()[:2000]}"


_CLASS: type[unittest.TestCase] | None = None


def _run_names(names: list[str]) -> dict[str, tuple[str, str]]:
    """Run some tests in this process, quietly; returns their statuses."""
    recorder = _Recorder()
    with warnings.catch_warnings(), open(os.devnull, "w") as quiet:
        warnings.simplefilter("ignore")
        stdout, sys.stdout = sys.stdout, quiet
        try:
            for name in names:
                try:
                    _CLASS(name).run(recorder)
                except Exception:  # a crash in the harness itself still counts as a failure
                    recorder.status[name] = ("failed", traceback.format_exc(limit=3))
        finally:
            sys.stdout = stdout
    return recorder.status


def _init_worker(mode: str) -> None:
    global _CLASS
    if _CLASS is None:
        _CLASS = node_test_class(mode)


def run_suite(mode: str = "interp", select: str | None = None, jobs: int = 1, limit: int | None = None,
              progress: bool = False) -> dict[str, tuple[str, str]]:
    """Run the CPU node tests; returns test name -> (passed|failed|skipped, message)."""
    global _CLASS
    _CLASS = node_test_class(mode)
    names = [n for n in unittest.defaultTestLoader.getTestCaseNames(_CLASS) if n.endswith("_cpu")]
    if select:
        names = [n for n in names if re.search(select, n)]
    names = names[:limit] if limit is not None else names
    if jobs <= 1 or len(names) < 2:
        return _run_names(names)
    chunks = [names[i::jobs * 8] for i in range(jobs * 8)]
    if mode == "compiled":  # small chunks so progress shows and slow tests spread evenly
        chunks = [names[i:i + 4] for i in range(0, len(names), 4)]
    start, results = time.perf_counter(), {}
    # Spawned, not forked: TVM's thread pool does not survive a fork, and a forked child of a process
    # that already ran a kernel spins forever in its first parallel loop.
    with multiprocessing.get_context("spawn").Pool(jobs, initializer=_init_worker, initargs=(mode,)) as pool:
        for part in pool.imap_unordered(_run_names, chunks):
            results.update(part)
            if progress:
                for name, (status, message) in part.items():
                    if status == "failed":
                        print(f"FAIL {name}: {_last_line(message)}", file=sys.stderr, flush=True)
                c = summary(results)
                print(f"[{len(results)}/{len(names)} {time.perf_counter() - start:.0f}s] {c['passed']} passed, "
                      f"{c['failed']} failed, {c['skipped']} skipped", file=sys.stderr, flush=True)
    return dict(sorted(results.items()))


def _last_line(message: str) -> str:
    """The exception line of a failure message, shortened."""
    lines = [ln for ln in message.splitlines() if ln.strip()]
    return (lines[0] if lines else "")[:300]


def summary(results: dict[str, tuple[str, str]]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for status, _ in results.values():
        counts[status] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """The command line: run the suite, optionally write JSON, print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["interp", "compiled"], default="interp",
                        help="interpret each model, or compile it with kernforge.compile and run that")
    parser.add_argument("--json", metavar="OUT", help="write every test's status and message to OUT")
    parser.add_argument("-k", "--filter", dest="select", metavar="REGEX", help="run only tests whose name matches")
    parser.add_argument("--limit", type=int, metavar="N", help="run only the first N (selected) tests")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--progress", action="store_true", help="print running counts to stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run_suite(args.mode, args.select, args.jobs, args.limit, args.progress)
    counts = summary(results)
    if args.verbose:
        for name, (status, message) in results.items():
            if status == "failed":
                print(f"FAIL {name}: {message.splitlines()[0] if message else ''}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "mode": args.mode, "seconds": round(time.perf_counter() - start, 1), **counts,
            "tests": {name: {"status": s, "message": m} for name, (s, m) in results.items()}}, indent=1))
    print(f"{time.perf_counter() - start:.1f} s, {len(results)} tests", file=sys.stderr)
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
