"""Draw a roofline picture (log-log, one point per kernel call) to a PNG with matplotlib's Agg backend."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import KernforgeError
from .peaks import Peaks
from .roofline import KernelRoofline, ridge_point


def _roof(peaks: Peaks, intensities: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """x range spanning every kernel and the ridge; the bandwidth and compute roofs over it."""
    ridge = ridge_point(peaks)
    xs = [i for i in intensities if i > 0] + [ridge]
    lo, hi = min(xs) / 4, max(xs) * 4
    bw_x = [lo, ridge]
    return bw_x, [x * peaks.gbps for x in bw_x], [ridge, hi]


def _slowest_distinct(rows: Sequence[KernelRoofline], n: int) -> list[KernelRoofline]:
    """The n slowest calls, one per kernel, so repeated calls of one kernel get one label."""
    seen: dict[str, KernelRoofline] = {}
    for r in sorted(rows, key=lambda r: -r.time_s):
        seen.setdefault(r.kernel, r)
    return list(seen.values())[:n]


def plot_roofline(rows: Sequence[KernelRoofline], peaks: Peaks, path: str, title: str = "roofline") -> None:
    """Write the roofline of the profiled kernel calls to path (PNG); points at 0 FLOPs are left out."""
    try:
        import matplotlib
    except ImportError:
        raise KernforgeError("drawing a roofline needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [r for r in rows if r.flops > 0 and r.bytes > 0 and r.time_s > 0]
    bw_x, bw_y, cx = _roof(peaks, [r.intensity for r in pts])
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    try:
        ax.loglog(bw_x, bw_y, "-", color="tab:blue", label=f"memory roof {peaks.gbps:.1f} GB/s")
        ax.loglog(cx, [peaks.gflops] * 2, "-", color="tab:red", label=f"compute roof {peaks.gflops:.1f} GFLOP/s")
        if pts:
            tmax = max(r.time_s for r in pts)
            sc = ax.scatter([r.intensity for r in pts], [r.gflops_per_s for r in pts],
                            s=[20 + 400 * r.time_s / tmax for r in pts],
                            c=[r.percent_of_peak for r in pts], cmap="viridis", vmin=0, vmax=100,
                            edgecolors="black", linewidths=0.5, zorder=3)
            fig.colorbar(sc, ax=ax, label="% of roofline bound")
            for r in _slowest_distinct(pts, 6):
                ax.annotate(f"#{r.step} {r.kernel}", (r.intensity, r.gflops_per_s), fontsize=7,
                            xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("arithmetic intensity (FLOP / byte)")
        ax.set_ylabel("achieved GFLOP/s")
        ax.set_title(f"{title} (point size ~ time; {len(pts)} kernel calls)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
