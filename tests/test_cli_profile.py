"""`kernforge run --profile / --roofline`: per-kernel FLOPs and bytes of a compiled model, bounds, waterline."""

import subprocess
import sys

import numpy as np
import pytest

import kernforge
from kernforge.ir import Builder
from kernforge.runtime.peaks import Peaks, host_key, save_peaks
from kernforge.runtime.roofline import KernelCost, step_costs

N = 64
CONV_OUT = 8 * 16 * 16
MM = KernelCost(2 * N**3, 3 * N * N * 4)
CONV = KernelCost(2 * CONV_OUT * 4 * 9 + 2 * CONV_OUT, 4 * (4 * 16 * 16 + 8 * 4 * 9 + 8 + CONV_OUT))


def two_kernel_model():
    """A 64x64x64 matmul and a conv2d+bias+relu (fused into one kernel), side by side."""
    rng = np.random.default_rng(0)
    b = Builder("mm_conv")
    w = b.param("w", rng.standard_normal((N, N)).astype(np.float32))
    cw = b.param("cw", rng.standard_normal((8, 4, 3, 3)).astype(np.float32))
    cb = b.param("cb", rng.standard_normal(8).astype(np.float32))
    f = b.function()
    a, x = f.arg("a", [N, N]), f.arg("x", [1, 4, 16, 16])
    f.ret(f.matmul(a, w), f.relu(f.conv2d(x, cw, cb, pads=[1, 1, 1, 1])))
    return b.module


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    cm = kernforge.compile(two_kernel_model())
    path = tmp_path_factory.mktemp("profile") / "mm_conv.kfa"
    cm.save(str(path))
    return cm, path


@pytest.fixture
def fixed_peaks(tmp_path, monkeypatch):
    """1 GFLOP/s and 1 GB/s cached for this host in a private cache dir (inherited by subprocesses)."""
    monkeypatch.setenv("KERNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    peaks = Peaks(1.0, 1.0, host_key())
    save_peaks(peaks)
    return peaks


def kf(*args):
    return subprocess.run([sys.executable, "-m", "kernforge", *args], capture_output=True, text=True)


def test_step_costs_of_compiled_model_are_exact(compiled):
    cm, _ = compiled
    costs = step_costs(cm.ir(), cm.executor.plan.steps)
    assert sorted(costs, key=lambda c: c.flops) == [CONV, MM]


def test_roofline_prints_profile_columns_bounds_and_waterline(compiled, fixed_peaks, tmp_path):
    _, path = compiled
    png = tmp_path / "roof.png"
    r = kf("run", str(path), "--roofline", str(png))  # --roofline implies --profile
    assert r.returncode == 0, r.stderr
    assert "measuring" not in r.stderr  # the cached (injected) peaks were used
    header = next(line for line in r.stdout.splitlines() if "kernel" in line and "rule" in line)
    for col in ("time ms", "share", "GFLOP", "GB", "GFLOP/s", "GB/s", "% peak", "bound ms", "gap ms"):
        assert col in header
    # At 1 GFLOP/s and 1 GB/s both kernels are compute bound: bound = flops / 1e9 s.
    assert f"{MM.flops / 1e6:.4f}" in r.stdout and f"{CONV.flops / 1e6:.4f}" in r.stdout
    waterline = next(line for line in r.stdout.splitlines() if line.startswith("waterline:"))
    assert f"{(MM.flops + CONV.flops) / 1e6:.4f} ms if every kernel ran at its roofline bound" in waterline
    assert "measured" in waterline and "peaks (" in r.stdout and "1.0 GFLOP/s, 1.0 GB/s" in r.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000

