"""1-D diagnostics of Figure 1: p_g on a grid from G by a numerical change of variables, the JSD
between p_data and p_g by numerical integration, and D's distance from 1/2.

p_g(x) is estimated by pushing a deterministic, evenly spaced grid of z through G (the quantiles
of the uniform noise, so no sampling noise), binning x = G(z) finely and smoothing with a narrow
Gaussian kernel: a change of variables that also handles non-monotone G. These are the numbers
issue 5 asks for until `gan eval` (issue 3) ships its official estimator.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from gan_cli.toy import GaussianMixture

LOG2 = math.log(2.0)


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


def jsd(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> float:
    """JSD(p || q) in nats (0 ... log 2) of two densities sampled on an evenly spaced grid."""
    p = np.maximum(p, 0.0)
    q = np.maximum(q, 0.0)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * np.trapezoid(kl_pm, grid) + 0.5 * np.trapezoid(kl_qm, grid))


def default_grid(target: GaussianMixture, fake: np.ndarray, n: int = 4001) -> np.ndarray:
    """A grid covering p_data (+-6 std) and 99.99 % of the generated points."""
    mu = float(target.means[:, 0].mean())
    s = float(target.stds.max())
    lo = min(mu - 6 * s, float(np.percentile(fake, 0.005)))
    hi = max(mu + 6 * s, float(np.percentile(fake, 99.995)))
    return np.linspace(lo, hi, n)


@torch.no_grad()
def diagnostics(
    G: torch.nn.Module, D_prob: Callable[[np.ndarray], np.ndarray], target: GaussianMixture, prior: str, scale: float, n_z: int = 200_000
) -> dict[str, float]:
    """JSD(p_data || p_g) (nats), max and mean-under-p_data |D - 1/2|."""
    z = noise_quantiles(n_z, 1, prior, scale).to(next(G.parameters()).device)
    was = G.training
    G.eval()
    fake = G(z).double().cpu().numpy().reshape(-1)
    G.train(was)
    grid = default_grid(target, fake)
    s = float(target.stds.max())
    p_data = target.log_prob(torch.from_numpy(grid)[:, None]).exp().numpy()
    p_g = density_on_grid(fake, grid, bandwidth=s / 50)
    d = D_prob(grid).reshape(-1)
    mu = float(target.means[:, 0].mean())
    support = (grid > mu - 3 * s) & (grid < mu + 3 * s)  # where p_data has 99.7 % of its mass
    return {
        "jsd": jsd(p_data, p_g, grid),
        "max_abs_d_minus_half": float(np.abs(d[support] - 0.5).max()),
        "mean_abs_d_minus_half": float(np.trapezoid(np.abs(d - 0.5) * p_data, grid)),
    }
