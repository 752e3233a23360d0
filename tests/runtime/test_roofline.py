"""Roofline accounting from IR (FLOPs, bytes), bound arithmetic with fixed peaks, the peaks cache, the plot."""

import json

import numpy as np
import pytest

import kernforge
from kernforge.errors import KernforgeError
from kernforge.ir import Builder
from kernforge.runtime import peaks as peaks_mod
from kernforge.runtime.peaks import Peaks, cache_path, cached_peaks, host_key, load_peaks, save_peaks
from kernforge.runtime.plan import Step
from kernforge.runtime.roofline import KernelCost, bound_seconds, ridge_point, roofline_rows, step_costs, waterline

FUSED_CONV = """module @cv {
  param @w : tensor<8x4x3x3xf32>
  param @b : tensor<8xf32>
  func @main(%x: tensor<1x4x16x16xf32>) -> tensor<1x8x16x16xf32> {
    %0 = fused(%x, @w, @b) {kind = "conv2d+relu"} : tensor<1x8x16x16xf32> {
      func @body(%in0: tensor<1x4x16x16xf32>, %in1: tensor<8x4x3x3xf32>, %in2: tensor<8xf32>) -> tensor<1x8x16x16xf32> {
        %0 = conv2d(%in0, %in1, %in2) {pads = [1, 1, 1, 1]} : tensor<1x8x16x16xf32>
        %1 = relu(%0) : tensor<1x8x16x16xf32>
        return %1
      }
    }
    %1 = add(%0, %0) : tensor<1x8x16x16xf32>
    return %1
  }
}
"""


def matmul_module(n=64):
    b = Builder("mm")
    w = b.param("w", np.zeros((n, n), np.float32))
    f = b.function()
    f.ret(f.matmul(f.arg("x", [n, n]), w))
    return b.module


def test_matmul_flops_and_bytes_are_exact():
    (cost,) = step_costs(matmul_module(64))
    assert cost == KernelCost(flops=2 * 64**3, bytes=3 * 64 * 64 * 4)
    assert step_costs(str(matmul_module(64))) == [cost]  # from IR text too


def test_fused_node_sums_its_region_and_counts_only_its_edges():
    conv, add = step_costs(FUSED_CONV, [Step("k0", [], ["buf:0.0"]), Step("k1", [], ["buf:1.0"])])
    out = 8 * 16 * 16
    assert conv.flops == 2 * out * 4 * 9 + out + out  # MACs, bias, relu
    assert conv.bytes == 4 * (4 * 16 * 16 + 8 * 4 * 9 + 8 + out)  # x, w, bias, result; no intermediate
    assert add == KernelCost(out, 3 * 4 * out)


def test_a_step_no_node_produces_is_an_error():
    with pytest.raises(KernforgeError, match=r"plan step k1 writes \['buf:1.0'\].*1 kernel nodes"):
        step_costs(matmul_module(8), [Step("k0", [], ["buf:0.0"]), Step("k1", [], ["buf:1.0"])])


def test_steps_skip_the_nodes_of_concats_the_plan_dropped():
    """A concat written in place by its producers has a node in the IR but no step: the steps after it
    still get their own nodes' costs (`run --profile` on SqueezeNet failed on this)."""
    b = Builder("cat")
    f = b.function()
    x = f.arg("x", [1, 8, 4, 4])
    y = f.op("concat", f.op("relu", x), f.op("sigmoid", x), axis=1)
    f.ret(f.op("tanh", y))
    cm = kernforge.compile(b.module, opt_level=0)
    plan = cm.executor.plan
    per_node = step_costs(cm.ir())
    assert len(plan.steps) == 3 and len(per_node) == 4  # the concat (node 2) left the plan
    assert step_costs(cm.ir(), plan.steps) == [per_node[0], per_node[1], per_node[3]]
    assert per_node[3].bytes == 2 * 256 * 4  # tanh: the 16-channel concat in, its result out


def test_bound_is_max_of_compute_and_memory_time():
    peaks = Peaks(gflops=100.0, gbps=10.0)
    compute_bound, memory_bound = KernelCost(2 * 64**3, 49152), KernelCost(4096, 3 * 4096 * 4)
    assert bound_seconds(compute_bound, peaks) == pytest.approx(2 * 64**3 / 100e9)
    assert bound_seconds(memory_bound, peaks) == pytest.approx(3 * 4096 * 4 / 10e9)
    assert ridge_point(peaks) == 10.0


def test_rows_rates_percent_gap_and_waterline():
    peaks = Peaks(gflops=1.0, gbps=1.0)
    times = [{"step": 0, "kernel": "k0_matmul", "median_s": 1e-3}, {"step": 1, "kernel": "k1_add", "median_s": 4e-4}]
    rows = roofline_rows(times, [KernelCost(500_000, 100_000), KernelCost(1_000, 200_000)], peaks)
    mm, add = rows
    assert mm.bound_s == pytest.approx(5e-4) and add.bound_s == pytest.approx(2e-4)
    assert mm.gflops_per_s == pytest.approx(0.5) and mm.gbytes_per_s == pytest.approx(0.1)
    assert mm.percent_of_peak == pytest.approx(50.0) and add.percent_of_peak == pytest.approx(50.0)
    assert mm.gap_s == pytest.approx(5e-4) and add.gap_s == pytest.approx(2e-4)
    assert mm.intensity == 5.0
    assert waterline(rows) == (pytest.approx(7e-4), pytest.approx(1.4e-3))
    with pytest.raises(KernforgeError):
        roofline_rows(times, [KernelCost(1, 1)], peaks)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KERNFORGE_CACHE_DIR", str(tmp_path))
    assert cache_path() == str(tmp_path / "peaks.json")
    assert cached_peaks() is None
    save_peaks(Peaks(12.5, 3.25, host_key()))
    save_peaks(Peaks(1.0, 1.0, "another host"))
    data = json.loads((tmp_path / "peaks.json").read_text())
    assert set(data) == {host_key(), "another host"}
    got = cached_peaks()
    assert (got.gflops, got.gbps, got.host) == (12.5, 3.25, host_key())


def test_hosts_of_one_cpu_model_with_and_without_avx512_keep_their_own_peaks(tmp_path, monkeypatch):
    """"AMD EPYC x2" names znver3 (AVX2) and znver4 (AVX-512) hosts alike; their peaks differ."""
    keys = []
    for flags in ("fpu sse2 avx avx2 fma", "fpu sse2 avx avx2 fma avx512f avx512bw"):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
        monkeypatch.setattr(peaks_mod, "CPUINFO", str(info))
        keys.append(host_key())
    assert keys[0].startswith("AMD EPYC x") and keys[0].endswith(" avx2") and keys[1].endswith(" avx512f")


def test_load_peaks_measures_once_then_uses_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERNFORGE_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(peaks_mod, "measure_peaks", lambda: calls.append(1) or Peaks(7.0, 2.0, host_key()))
    assert load_peaks().gflops == 7.0 and load_peaks().gbps == 2.0
    assert len(calls) == 1
    load_peaks(remeasure=True)
    assert len(calls) == 2


def test_corrupt_cache_is_remeasured(tmp_path, monkeypatch):
    monkeypatch.setenv("KERNFORGE_CACHE_DIR", str(tmp_path))
    (tmp_path / "peaks.json").write_text("{not json")
    monkeypatch.setattr(peaks_mod, "measure_peaks", lambda: Peaks(3.0, 4.0, host_key()))
    assert load_peaks().gflops == 3.0


def test_micro_benchmarks_give_positive_rates():
    assert peaks_mod.measure_gemm_gflops(64, budget_s=0.02) > 0
    assert peaks_mod.measure_copy_gbps(4, budget_s=0.02, threads=2) > 0


def test_roofline_png(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    from kernforge.runtime.roofline_plot import plot_roofline

    times = [{"step": k, "kernel": f"k{k}", "median_s": 1e-4 * (k + 1)} for k in range(3)]
    costs = [KernelCost(10**6, 10**4), KernelCost(10**4, 10**6), KernelCost(0, 10**5)]  # last: no FLOPs
    path = tmp_path / "roof.png"
    plot_roofline(roofline_rows(times, costs, Peaks(50.0, 20.0, "h")), Peaks(50.0, 20.0, "h"), str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
    assert float(np.std(img[..., :3])) > 0.05  # not a blank canvas
