"""The paper's Figure 1 drawn from the four states of a 1-D run (gan_cli.training.figure1_replay).

Four panels, as in the paper, each the 1-D panel of figures.density1d (p_data black dotted, p_g
green solid, D blue dashed, D* = p_data / (p_data + p_g) red), over the z line (noise) with
arrows z -> x = G(z):
  (a) an early checkpoint;
  (b) the middle checkpoint with G frozen and D trained further (D_STEPS discriminator updates of
      Algorithm 1's inner loop): D moves towards D*;
  (c) the same after G_STEPS generator updates against that D: G(z) flows towards where D is high;
  (d) the last checkpoint, where p_g should be close to p_data and D close to 1/2; with train.ema on,
      p_g is that of G's moving average, the G that `gan eval` measures (panels (a)-(c) show the
      game itself, so the raw G that D plays against).
p_g is exact, by change of variables through G (evaluate.density.exact_1d, as `gan eval`), and the
final JSD(p_data || p_g) and max |D - 1/2| (over p_data's +-3 std) are returned and printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from gan_cli import toy
from gan_cli.config import Config
from gan_cli.figures.density1d import p_data_on, plot_density_1d, x_grid
from gan_cli.figures.files import save_figure


def _panel(
    ax: Any, axz: Any, st: dict[str, Any], target: toy.GaussianMixture, xs: np.ndarray, z_scale: float, i: int
) -> tuple[list[Any], list[str]]:
    twin, handles, labels = plot_density_1d(
        ax, xs, p_data_on(target, xs), st["exact"].pushforward.density(xs), st["d"](xs), r"$p_g$, exact"
    )
    ax.set_xlabel("")
    if i > 0:  # density scales differ per panel; D's axis is [0, 1] in all, labelled on the last
        ax.set_ylabel("")
    if i < 3:
        twin.set_ylabel("")
        twin.tick_params(labelright=False)
    ax.set_title(
        f"{st['label']} (step {st['step']})\nJSD {st['stats']['jsd']:.4f} nats, max|D-1/2| {st['stats']['max_abs_d_minus_half']:.3f}",
        fontsize=9,
    )
    ax.tick_params(labelbottom=False)
    # the z line below, mapped onto the middle of the x axis; arrows z -> x = G(z)
    lo, hi = xs[0], xs[-1]
    mid, half = 0.5 * (lo + hi), 0.35 * (hi - lo)
    zx = mid + st["z_arrows"] / z_scale * half
    axz.plot([mid - half, mid + half], [0, 0], "k-", lw=1)
    axz.plot([lo, hi], [1, 1], "k-", lw=1)
    for a, b in zip(zx, st["x_arrows"]):
        if lo <= b <= hi:
            axz.annotate("", xy=(b, 1), xytext=(a, 0), arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.7})
    axz.set_xlim(lo, hi)
    axz.set_ylim(-0.15, 1.1)
    axz.set_yticks([0, 1], ["z", "x"])
    axz.tick_params(left=False)
    for side in ("top", "right", "left"):
        axz.spines[side].set_visible(False)
    return handles, labels


def draw_figure1(states: list[dict[str, Any]], target: toy.GaussianMixture, cfg: Config, out: Path) -> None:
    """Four panels side by side, each over its z line with the arrows z -> x = G(z)."""
    xs = x_grid(target, [tuple(st["exact"].pushforward.quantiles([0.005, 0.995])) for st in states], 1200)

    fig = plt.figure(figsize=(15, 4.6))
    gs = fig.add_gridspec(2, 4, height_ratios=[3, 1], hspace=0.05, wspace=0.18)
    # the drawn z line spans the uniform noise's interval, or the outermost arrows of normal noise
    z_extent = cfg.noise.scale if cfg.noise.prior == "uniform" else float(np.abs(states[0]["z_arrows"]).max())
    for i, st in enumerate(states):
        ax = fig.add_subplot(gs[0, i])
        axz = fig.add_subplot(gs[1, i], sharex=ax)
        handles, labels = _panel(ax, axz, st, target, xs, z_extent, i)
        if i == 0:
            fig.legend(
                handles, labels, loc="upper center", ncol=4, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.06)
            )
    save_figure(fig, out, dpi=70, bbox_inches="tight")
