"""1-D pictures and figures of Figure 1: p_g drawn on a grid from G, and the panel statistics.

For the drawing, p_g(x) is estimated by pushing an evenly spaced grid of z quantiles through G
(no sampling noise), binning x = G(z) finely and smoothing with a narrow Gaussian kernel. The
numbers (JSD, |D - 1/2|) are `gan eval`'s: exact p_g by change of variables (evaluate.density).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from gan_cli.toy import GaussianMixture


def noise_quantiles(n: int, dim: int, prior: str, scale: float) -> torch.Tensor:
    """n evenly spaced quantiles of 1-D noise (uniform on (-scale, scale), or normal with std scale)."""
    if dim != 1:
        raise ValueError("noise_quantiles needs 1-D noise")
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    if prior == "uniform":
        z = (2 * u - 1) * scale
    else:
        z = torch.special.ndtri(u) * scale
    return z.float()[:, None]


def density_on_grid(x: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Binned Gaussian KDE of points `x` evaluated on the evenly spaced `grid` (integrates to ~1)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    dx = grid[1] - grid[0]
    edges = np.concatenate([grid - dx / 2, [grid[-1] + dx / 2]])
    counts, _ = np.histogram(x, bins=edges)
    dens = counts / (len(x) * dx)
    half = int(math.ceil(4 * bandwidth / dx))
    if half < 1:
        return dens
    k = np.exp(-0.5 * (np.arange(-half, half + 1) * dx / bandwidth) ** 2)
    k /= k.sum()
    return np.convolve(dens, k, mode="same")


def diagnostics(
    G: torch.nn.Module, D_prob: Callable[[np.ndarray], np.ndarray], target: GaussianMixture, prior: str, scale: float,
    z_nodes: int = 1_000_000, x_bins: int = 20_000,
) -> dict[str, float]:
    """JSD(p_data || p_g) (nats, exact p_g), max |D - 1/2| over p_data's +-3 std, mean |D - 1/2| under M.

    The same estimators as `gan eval`'s jsd_exact and d_max_dev (defaults: eval.z_grid, eval.x_bins).
    """
    from gan_cli.evaluate import density

    r = density.exact_1d(density.numpy_generator(G), prior, scale, target, z_nodes, x_bins)
    largest, mean_under_m = density.d_deviation(D_prob, target, r.centres, r.p, r.q)
    return {"jsd": r.jsd, "max_abs_d_minus_half": largest, "mean_abs_d_minus_half": mean_under_m}
