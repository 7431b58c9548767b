"""The picture of the 1-D exact comparison: p_data, the exact p_g, a histogram of samples of G
(the check a person can see), the checkpoint's D and the optimal D* = p_data/(p_data + p_g)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gan_cli.evaluate.density import Exact1D  # noqa: E402


def plot_exact_1d(res: Exact1D, d_prob: Callable[[np.ndarray], np.ndarray], samples: np.ndarray, path: Path, title: str) -> None:
    """Densities on the left axis, D and D* on the right, over the bulk of both distributions."""
    edges_mid = res.centres[1 : res.bins + 1]  # the regular bins (no end or atom bins)
    width = np.diff(edges_mid).mean()
    p, q = res.p[1 : res.bins + 1], res.q[1 : res.bins + 1]
    # the x range where either density holds all but 1e-4 of its mass
    cdf = np.cumsum(p + q) / max((p + q).sum(), 1e-300)
    lo, hi = np.searchsorted(cdf, [5e-5, 1 - 5e-5])
    lo, hi = max(lo - 10, 0), min(hi + 10, len(edges_mid) - 1)
    x = edges_mid[lo:hi]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, p[lo:hi] / width, "k:", lw=2, label="p_data")
    ax.plot(x, q[lo:hi] / width, "g-", lw=1.5, label="p_g (exact, change of variables)")
    ax.hist(samples, bins=80, range=(x[0], x[-1]), density=True, color="g", alpha=0.2, label=f"{len(samples):,} samples of G")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax2 = ax.twinx()
    ax2.plot(x, d_prob(x), "b--", lw=1.5, label="D(x), checkpoint")
    with np.errstate(invalid="ignore", divide="ignore"):
        ax2.plot(x, p[lo:hi] / (p[lo:hi] + q[lo:hi]), "r-", lw=1, alpha=0.7, label="D*(x) = p_data/(p_data + p_g)")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("D")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
