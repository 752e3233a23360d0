"""Smoke test of the side-by-side benchmark suite on the GEMV with the cheap systems: the table and JSON
structure and the correctness field (never timings), plus a failing system reported in its cell."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")  # the GEMV is defined in torch and exported once to a cached ONNX file

from kernforge.benchmarks import run, systems  # noqa: E402

CHEAP = ["kernforge", "onnxruntime", "numpy"]


def test_gemv_row_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run.main(["--models", "gemv_4096", "--systems", *CHEAP, "--repeat", "2", "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# ") and "cores" in lines[0]
    assert lines[1].split() == ["model", "(ms)", *CHEAP, "kf/ort", "max", "err", "check", "compile", "s"]
    row_line = next(ln for ln in lines if ln.startswith("gemv_4096"))
    assert row_line.split()[-2] == "OK"
    assert any(ln.strip().startswith("GFLOP/s: kernforge") and "kernforge/numpy" in ln for ln in lines)
    assert lines[-1].startswith("geomean kernforge/onnxruntime:")

    data = json.loads(out.read_text())
    assert {"cpu", "cores", "date", "versions"} <= set(data["host"])
    assert data["systems"] == CHEAP and len(data["rows"]) == 1
    row = data["rows"][0]
    assert row["model"] == "gemv_4096"
    assert all(isinstance(row["latency_ms"][s], float) for s in CHEAP)
    assert row["runs"] == dict.fromkeys(CHEAP, 2 * run.BLOCK)
    assert row["check"] == "OK" and row["max_abs_err"] < 1e-3 and row["max_rel_err"] < 1e-3 and row["compile_s"] > 0
    assert math.isclose(row["ratio"], row["latency_ms"]["kernforge"] / row["latency_ms"]["onnxruntime"])
    assert set(row["gflops"]) == set(CHEAP)
    assert data["geomean_ratio"] == pytest.approx(row["ratio"])


class Broken(systems.System):
    name, label = "broken", "broken"

    def prepare(self, model):
        raise RuntimeError("no kernel for this op\nsecond line")


def test_failing_system_gets_an_error_cell(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(systems.SYSTEMS, "broken", Broken())
    out = tmp_path / "bench.json"
    assert run.main(["--models", "gemv_4096", "--systems", "onnxruntime", "broken", "--repeat", "2",
                     "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "    broken: error: RuntimeError: no kernel for this op" in text
    row = json.loads(out.read_text())["rows"][0]
    assert row["latency_ms"]["broken"] == "error: RuntimeError: no kernel for this op"
    assert isinstance(row["latency_ms"]["onnxruntime"], float)
    assert row["check"] == "n/a" and row["ratio"] is None


def test_interleaved_samples_slow_systems_less_and_survives_a_failure():
    calls = {"fast": 0, "slow": 0}

    def count(name):
        calls[name] += 1

    def flaky():
        raise ValueError("lost the device")

    fns = {"fast": lambda: count("fast"), "slow": lambda: count("slow"), "flaky": flaky}
    times, runs = run.interleaved(fns, {"fast": 0.0, "slow": 10.0, "flaky": 0.0}, repeat=6, budget_s=60.0)
    # A turn is one untimed call and then BLOCK timed ones; a slow system (10 s x 6 rounds x 3 calls
    # over a 60 s budget: stride 3) gets a turn in rounds 0 and 3 only, with one timed call.
    assert runs == {"fast": 6 * run.BLOCK, "slow": 2}
    assert calls == {"fast": 6 * (run.BLOCK + 1), "slow": 4}
    assert times["flaky"] == "error: ValueError: lost the device"


def test_compare_judges_tiny_outputs_by_their_scale():
    ref = [np.full((1, 1000), 1e-3, np.float32)]
    err, rel, ok = run.compare([ref[0] * 1.05], ref, rtol=1e-3, atol=1e-4)  # 5% off passes atol alone
    assert err == pytest.approx(5e-5, rel=1e-4) and rel == pytest.approx(0.05, rel=1e-4) and not ok
    assert run.compare([ref[0] * (1 + 1e-5)], ref, 1e-3, 1e-4)[2]
    assert run.compare([ref[0][0]], ref, 1e-3, 1e-4)[2]  # same size, reshaped
    assert run.compare([np.zeros(3)], ref, 1e-3, 1e-4) == (math.inf, math.inf, False)
