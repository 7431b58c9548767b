"""The one 1-D panel: p_data, p_g, D and D*(x) = p_data / (p_data + p_g) over one x axis.

Every 1-D picture draws it with `plot_density_1d`: `gan sample` and training's periodic pictures
(via figures.samples.draw), `gan eval`'s RUN_DIR/eval_density.png (`save_density_1d`) and each
panel of `gan plot figure1`. One colour scheme, the paper's Figure 1 where it has one:

  p_data   black, dotted          (Figure 1)
  p_g      green, solid           (Figure 1); light green bars: a histogram of samples of G
  D        blue, dashed           (Figure 1)
  D*       red, thin solid        (not in Figure 1: the best D for this G, Proposition 1)

Densities are on the left axis; D and D* on a right axis fixed to [0, 1], with a grey line at 1/2.
p_g is exact (change of variables, evaluate.density.PushforwardCDF) where G maps 1-D noise to
1-D data, else the KDE of samples of G (evaluate.density.kde_1d); its legend entry says which.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_cli.evaluate.density import (
    PushforwardCDF,
    data_window_1d,
    kde_1d,
    optimal_discriminator,
)
from gan_cli.figures.files import save_figure
from gan_cli.toy import GaussianMixture

P_DATA: dict[str, Any] = {"color": "k", "ls": ":", "lw": 2}
P_G: dict[str, Any] = {"color": "g", "ls": "-", "lw": 2}
SAMPLES: dict[str, Any] = {"color": "g", "alpha": 0.18}
D_STYLE: dict[str, Any] = {"color": "b", "ls": "--", "lw": 2}
D_STAR: dict[str, Any] = {"color": "r", "ls": "-", "lw": 1.2}
HALF: dict[str, Any] = {"color": "0.75", "lw": 0.8}
P_G_CLIP = 4.0  # the density axis stops at this many times p_data's peak (p_g can spike where G' = 0)


def x_grid(target: GaussianMixture, bulks: list[tuple[float, float]], points: int) -> np.ndarray:
    """An evenly spaced x grid over p_data's +-4 std and each (lo, hi) range of p_g's bulk, padded 5 %."""
    lo, hi = data_window_1d(target, 4.0)
    for b_lo, b_hi in bulks:
        lo, hi = min(lo, float(b_lo)), max(hi, float(b_hi))
    pad = 0.05 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, points)


def p_data_on(target: GaussianMixture, x: np.ndarray) -> np.ndarray:
    return target.log_prob(torch.from_numpy(np.asarray(x, dtype=np.float64))[:, None]).exp().numpy()


def plot_density_1d(
    ax: plt.Axes,
    x: np.ndarray,
    p_data: np.ndarray,
    p_g: np.ndarray,
    d: np.ndarray | None,
    p_g_label: str,
    samples: np.ndarray | None = None,
) -> tuple[plt.Axes, list[Any], list[str]]:
    """Draw the panel on `ax` (and a twin axis for D); returns the twin and the legend's handles and labels.

    D* is p_data / (p_data + p_g) of the two densities drawn (undefined, so not drawn, where both
    vanish); `d` (D(x) on x) may be None when there is no discriminator to show.
    """
    ax.plot(x, p_data, label=r"$p_{data}$", **P_DATA)
    ax.plot(x, p_g, label=p_g_label, **P_G)
    if samples is not None and len(samples):
        ax.hist(samples, bins=80, range=(x[0], x[-1]), density=True, label=f"{len(samples):,} samples of G", **SAMPLES)
    top = max(float(np.max(p_data)), min(float(np.max(p_g)), P_G_CLIP * float(np.max(p_data))))
    ax.set_ylim(0, 1.08 * top)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    twin = ax.twinx()
    twin.axhline(0.5, **HALF)
    if d is not None:
        twin.plot(x, np.asarray(d).reshape(-1), label="D(x)", **D_STYLE)
    twin.plot(x, optimal_discriminator(p_data, p_g), label=r"$D^*(x) = p_{data} / (p_{data} + p_g)$", **D_STAR)
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("D")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    return twin, h1 + h2, l1 + l2


def save_density_1d(
    path: Path,
    target: GaussianMixture,
    samples: np.ndarray,
    d_prob: Callable[[np.ndarray], np.ndarray] | None,
    title: str = "",
    exact: PushforwardCDF | None = None,
    what: str = "--out",
) -> None:
    """One panel to `path` (PNG): p_g exact from `exact` when given, else the KDE of `samples`;
    `samples` are drawn as a histogram either way. `what` names the file in an error (the option
    that chose it, or what it is)."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    bulk: np.ndarray | tuple[float, float]
    if exact is not None:
        bulk = exact.quantiles([0.005, 0.995])
    elif len(samples):
        bulk = np.percentile(samples, [0.5, 99.5])
    else:
        bulk = data_window_1d(target, 4.0)
    x = x_grid(target, [tuple(bulk)], 800)
    if exact is not None:
        p_g, label = exact.density(x), r"$p_g$, exact (change of variables through G)"
    else:
        p_g, label = kde_1d(samples, x), rf"$p_g$, KDE of the {len(samples):,} samples"
    fig, ax = plt.subplots(figsize=(9.5, 4))
    _, handles, labels = plot_density_1d(
        ax, x, p_data_on(target, x), p_g, d_prob(x) if d_prob is not None else None, label, samples
    )
    ax.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1.1, 1.0), fontsize=8, frameon=False
    )  # beside: nothing hidden
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, what, dpi=100)
