"""Smoke test of the quantized GEMV benchmark at a small size: the table's rows and fields, the packed
weight sizes (bits per weight from the layout) and the error ordering (never timings)."""

from __future__ import annotations

from kernforge.benchmarks import quant_gemv


def test_rows_sizes_and_errors(monkeypatch, capsys):
    monkeypatch.setattr("kernforge.runtime.peaks.load_peaks", lambda: type("P", (), {"gbps": 10.0})())
    assert quant_gemv.main(["--size", "256", "--schemes", "w8", "w4g128", "w2g128", "--repeat", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["scheme", "ms", "speedup"]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:]}
    assert list(rows) == ["f32", "w8", "w4g128", "w2g128"]
    bits = {k: float(v[4]) for k, v in rows.items()}
    # codes plus a float32 scale and offset per group (per 256-wide row for w8)
    assert bits == {"f32": 32.0, "w8": 8.25, "w4g128": 4.5, "w2g128": 2.5}
    errs = [float(rows[k][-1]) for k in ("f32", "w8", "w4g128", "w2g128")]
    assert errs[0] == 0 and errs[1] < 0.01 < errs[2] < errs[3]


def test_accuracy_rows_on_resnet50():
    from kernforge.benchmarks import quant_accuracy

    rows = quant_accuracy.measure("resnet50", ["w8", "w2g128"], seq=8)
    assert [r["scheme"] for r in rows] == ["w8", "w2g128"]
    assert all(r["layers"] == 1 for r in rows)  # the classifier's gemm; convolutions stay float
    assert 0 < rows[0]["rel_err"] < rows[1]["rel_err"]
