"""The picture of a sweep: one metric against the grid points, the mean over seeds with its
95 % t-interval as error bars, and every seed's value as a dot beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_cli.figures.files import literal, save_figure  # noqa: E402


@dataclass(frozen=True)
class SweepPoint:
    """What the figure draws for one grid point: its label, the seeds' values, mean and half-width
    (None where there is no interval: fewer than two values)."""

    label: str
    values: list[float]
    mean: float | None
    half_width: float | None


def plot_sweep(points: list[SweepPoint], metric: str, title: str, out: str | Path, xlabel: str = "") -> Path:
    """Draw `metric` against the grid points into `out` (PNG, written atomically); returns the path."""
    out = Path(out)
    width = max(5.5, 1.2 * len(points) + 2.0)
    fig, ax = plt.subplots(figsize=(width, 3.6), dpi=120)
    try:
        xs = range(len(points))
        for x, p in zip(xs, points):
            if p.values:
                n = len(p.values)
                offsets = [0.18 + 0.12 * (i / max(n - 1, 1)) for i in range(n)]
                ax.scatter(
                    [x + o for o in offsets],
                    p.values,
                    s=14,
                    color="0.55",
                    zorder=2,
                    label="one seed" if x == 0 else None,
                )
            if p.mean is not None:
                yerr = [[p.half_width], [p.half_width]] if p.half_width is not None else None
                ax.errorbar(
                    [x],
                    [p.mean],
                    yerr=yerr,
                    fmt="o",
                    color="C0",
                    capsize=5,
                    elinewidth=1.5,
                    zorder=3,
                    label="mean ± 95 % t-interval" if x == 0 else None,
                )
        ax.set_xticks(
            list(xs),
            [literal(p.label) for p in points],
            rotation=20 if len(points) > 4 else 0,
            ha="right" if len(points) > 4 else "center",
        )
        ax.set_xlim(-0.5, len(points) - 0.3)
        ax.set_ylabel(literal(metric))
        if xlabel:
            ax.set_xlabel(literal(xlabel))
        ax.set_title(literal(title), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if any(p.values for p in points):
            ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        save_figure(fig, out, "the sweep's figure", format="png")
    finally:
        plt.close(fig)
    return out
