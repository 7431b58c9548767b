"""p_g exactly, for a 1-D G of 1-D noise, by change of variables; JSD, V and |D - 1/2| from it.

On each monotone piece of G the mass of p_g below x is F_z(z*(x)) - F_z(z_start), z* the preimage
of x, so the CDF of p_g is the sum over pieces of F_z at the interpolated preimage (flat pieces of
G are point masses). The noise grid is a quantile grid, so F_z is known exactly at every node and
interpolation between nodes is the only approximation (exact for a piecewise-linear G, second
order otherwise). The JSD is then a sum over a fine x grid of exact bin masses, from the exact
CDFs of both sides.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtr, ndtri

from gan_cli.evaluate.density.divergences import jsd_masses, value_optimal_masses
from gan_cli.toy import GaussianMixture

# numpy 2.0 renamed np.trapz to np.trapezoid (the old name is gone from numpy 2's stubs); numpy 1.24+ is supported
trapezoid = np.trapezoid if hasattr(np, "trapezoid") else np.trapz  # type: ignore[attr-defined]


def noise_ppf(prior: str, scale: float, u: np.ndarray) -> np.ndarray:
    """F_z^-1(u), the quantile function of the 1-D noise prior (uniform on (-scale, scale) or N(0, scale^2)), float64."""
    u = np.asarray(u, dtype=np.float64)
    if prior == "uniform":
        return -scale + 2 * scale * u
    return scale * ndtri(u)


def noise_quantile_grid(prior: str, scale: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n+1 nodes z_j of the 1-D noise and their exact CDF values u_j = F_z(z_j), float64.

    u equally spaced on [0, 1] and z = F_z^-1(u): for uniform noise z is equally spaced on
    [-scale, scale]; for normal noise the two end nodes are +-8.5 scale (the mass beyond them,
    2e-17, is below float64 resolution of u).
    """
    u = np.linspace(0.0, 1.0, n + 1)
    if prior == "uniform":
        return noise_ppf(prior, scale, u), u
    z = np.empty_like(u)
    z[1:-1] = noise_ppf(prior, scale, u[1:-1])
    z[0], z[-1] = -8.5 * scale, 8.5 * scale  # Phi(-8.5) = 1e-17: below float64 resolution of u
    return z, u


def noise_cdf(prior: str, scale: float) -> Callable[[np.ndarray], np.ndarray]:
    """F_z of the 1-D noise prior (uniform on (-scale, scale) or N(0, scale^2))."""
    if prior == "uniform":
        return lambda z: np.clip((np.asarray(z) + scale) / (2 * scale), 0.0, 1.0)
    return lambda z: ndtr(np.asarray(z) / scale)


@dataclass
class PushforwardCDF:
    """The exact CDF of p_g = G_# p_z for a 1-D G of 1-D noise, from G on a grid of noise nodes.

    The preimage z*(e) of a point e is interpolated linearly in z between nodes (exact for a
    piecewise-linear G); its mass comes from the exact F_z.
    """

    x: np.ndarray  # G(z_j)
    z: np.ndarray  # z_j
    u: np.ndarray  # F_z(z_j)
    f_z: Callable[[np.ndarray], np.ndarray]
    pieces: list[tuple[int, int, int]]  # (start node, end node, +1 increasing | -1 decreasing | 0 flat)

    @classmethod
    def from_nodes(
        cls, x: np.ndarray, z: np.ndarray, u: np.ndarray, f_z: Callable[[np.ndarray], np.ndarray]
    ) -> PushforwardCDF:
        x = np.asarray(x, dtype=np.float64)
        dx = np.diff(x)
        tol = 1e-12 * max(1.0, float(np.abs(x).max()))
        sign = np.where(dx > tol, 1, np.where(dx < -tol, -1, 0))
        breaks = np.flatnonzero(np.diff(sign)) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(sign)]])
        pieces = [(int(a), int(b), int(sign[a])) for a, b in zip(starts, ends)]
        return cls(x, np.asarray(z, dtype=np.float64), np.asarray(u, dtype=np.float64), f_z, pieces)

    def atoms(self) -> list[tuple[float, float]]:
        """(location, mass) of each point mass of p_g: a flat piece of G."""
        return [
            (float(self.x[a : b + 1].mean()), float(self.u[b] - self.u[a])) for a, b, sgn in self.pieces if sgn == 0
        ]

    def __call__(self, e: np.ndarray, atoms: bool = True) -> np.ndarray:
        """P(G(z) <= e) at each point e (without the point masses when atoms is False)."""
        e = np.asarray(e, dtype=np.float64)
        out = np.zeros_like(e)
        for a, b, sgn in self.pieces:
            xs, zs, us = self.x[a : b + 1], self.z[a : b + 1], self.u[a : b + 1]
            if sgn == 0:  # G is flat here: a point mass at its value
                if atoms:
                    out += (us[-1] - us[0]) * (e >= xs.mean())
            elif sgn > 0:
                out += self.f_z(np.interp(e, xs, zs)) - us[0]
            else:
                out += us[-1] - self.f_z(np.interp(e, xs[::-1], zs[::-1]))
        return out

    @property
    def support(self) -> tuple[float, float]:
        return float(self.x.min()), float(self.x.max())

    def quantiles(self, q: np.ndarray | list[float]) -> np.ndarray:
        """Quantiles of p_g, to the node spacing (the nodes carry near-equal noise mass)."""
        return np.quantile(self.x, q)

    def density(self, x: np.ndarray) -> np.ndarray:
        """p_g at the points of an increasing grid `x`: the exact mass of the cell around each point
        (from midway to its neighbours) over the cell's width; point masses (atoms()) left out."""
        x = np.asarray(x, dtype=np.float64)
        mid = 0.5 * (x[1:] + x[:-1])
        edges = np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
        return np.clip(np.diff(self(edges, atoms=False)), 0, None) / np.diff(edges)


def pushforward_1d(G: Callable[[np.ndarray], np.ndarray], prior: str, scale: float, z_nodes: int) -> PushforwardCDF:
    """The exact CDF of p_g for a 1-D G of 1-D noise (float64 in, out), from G on `z_nodes` + 1 noise quantiles."""
    z, u = noise_quantile_grid(prior, scale, z_nodes)
    return PushforwardCDF.from_nodes(G(z), z, u, noise_cdf(prior, scale))


def mixture_cdf_1d(target: GaussianMixture, e: np.ndarray) -> np.ndarray:
    """P_data(X <= e) for a 1-D Gaussian mixture."""
    mu = target.means[:, 0].numpy()
    sd = target.stds.numpy()
    w = target.weights.numpy()
    return (w[None, :] * ndtr((np.asarray(e, dtype=np.float64)[:, None] - mu[None, :]) / sd[None, :])).sum(1)


def data_window_1d(target: GaussianMixture, width: float = 10.0) -> tuple[float, float]:
    mu = target.means[:, 0].numpy()
    sd = target.stds.numpy()
    return float((mu - width * sd).min()), float((mu + width * sd).max())


@dataclass
class Exact1D:
    """Exact (to quadrature accuracy) comparison of p_data and p_g in 1-D, in nats."""

    jsd: float
    value_optimal: float  # V(G, D*) = -log 4 + 2 jsd
    w1: float
    centres: np.ndarray  # x grid bin centres, then the locations of p_g's point masses
    p: np.ndarray  # p_data mass per bin (the two end bins hold everything outside the window)
    q: np.ndarray  # p_g mass per bin, then the masses of its point masses
    bins: int
    z_nodes: int
    pushforward: PushforwardCDF | None = None  # p_g's exact CDF, for pictures (.density on any grid)


def exact_1d(
    G: Callable[[np.ndarray], np.ndarray],
    prior: str,
    scale: float,
    target: GaussianMixture,
    z_nodes: int = 1_000_000,
    x_bins: int = 20_000,
) -> Exact1D:
    """JSD(p_data || p_g), V(G, D*) and W1 for a 1-D generator G of 1-D noise (float64 in, out)."""
    cdf_g = pushforward_1d(G, prior, scale, z_nodes)
    lo, hi = data_window_1d(target)
    g_lo, g_hi = cdf_g.support
    # the window: the data's +-10 std and the bulk of p_g; p_g mass beyond it lands in the end
    # bins, where p_data has no mass, so it counts fully towards the JSD whatever its position
    q_lo, q_hi = cdf_g.quantiles([1e-6, 1 - 1e-6])
    a, b = min(lo, q_lo), max(hi, q_hi)
    pad = 0.01 * (b - a)
    edges = np.linspace(a - pad, b + pad, x_bins + 1)
    # p_g jumps where a monotone piece of G ends: put an edge there so no bin straddles a jump
    ends = np.array([cdf_g.x[i] for a_, b_, _ in cdf_g.pieces for i in (a_, b_)])
    edges = np.unique(np.concatenate([edges, ends[(ends > edges[0]) & (ends < edges[-1])]]))
    # point masses of p_g get bins of their own, where p_data (continuous) has no mass: binning
    # them with p_data's mass around them would bias the JSD by ~ h log h
    atom_mass = np.array([m for _, m in cdf_g.atoms()])
    fd = np.concatenate([[0.0], mixture_cdf_1d(target, edges), [1.0]])
    fg = np.concatenate([[0.0], cdf_g(edges, atoms=False), [1.0 - atom_mass.sum()]])
    p = np.concatenate([np.clip(np.diff(fd), 0, None), np.zeros(len(atom_mass))])
    q = np.concatenate([np.clip(np.diff(fg), 0, None), atom_mass])
    jsd = jsd_masses(p, q)
    # W1 = integral |F_data - F_g| dx, on a grid spanning all of p_g's support
    w_edges = np.linspace(min(lo, g_lo), max(hi, g_hi), 4 * x_bins + 1)
    gap = np.abs(mixture_cdf_1d(target, w_edges) - cdf_g(w_edges))
    w1 = float(trapezoid(gap, w_edges))
    atom_x = [x for x, _ in cdf_g.atoms()]
    centres = np.concatenate([[edges[0] - pad], 0.5 * (edges[1:] + edges[:-1]), [edges[-1] + pad], atom_x])
    return Exact1D(jsd, value_optimal_masses(p, q), w1, centres, p, q, x_bins, z_nodes, cdf_g)


def numpy_generator(G: torch.nn.Module, chunk: int = 200_000):
    """x = G(z) for 1-D z and x as float64 numpy arrays (a float64 copy of G on the CPU)."""
    g64 = copy.deepcopy(G).to("cpu").double().eval()

    @torch.no_grad()
    def f(z: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float64)).reshape(-1, 1)
        return torch.cat([g64(t[i : i + chunk]) for i in range(0, len(t), chunk)]).reshape(-1).numpy()

    return f


DEVIATION_POINTS = 2001


def d_deviation(
    d_prob: Callable[[np.ndarray], np.ndarray],
    target: GaussianMixture,
    centres: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
) -> tuple[float, float]:
    """(max |D(x) - 1/2| over p_data's mean +- 3 std, mean |D - 1/2| under M = (p + q)/2).

    `p`, `q` are the bin masses of p_data and p_g at `centres` (from exact_1d). At the paper's
    equilibrium (Figure 1 (d)) D = 1/2 wherever either density has mass, and both are 0.
    """
    mean = float((target.weights * target.means[:, 0]).sum())
    std = float(torch.sqrt((target.weights * (target.stds**2 + target.means[:, 0] ** 2)).sum() - mean**2))
    x = np.linspace(mean - 3 * std, mean + 3 * std, DEVIATION_POINTS)
    largest = float(np.abs(np.asarray(d_prob(x)).reshape(-1) - 0.5).max())
    m = 0.5 * (p + q)
    mean_under_m = float((m * np.abs(np.asarray(d_prob(centres)).reshape(-1) - 0.5)).sum() / m.sum())
    return largest, mean_under_m


def summary_1d(res: Exact1D, d_prob: Callable[[np.ndarray], np.ndarray], target: GaussianMixture) -> dict[str, float]:
    """The numbers of a Figure 1 panel: JSD(p_data || p_g) (nats, exact p_g), max |D - 1/2| over
    p_data's +-3 std and mean |D - 1/2| under M (gan eval's jsd_exact and d_max_dev)."""
    largest, mean_under_m = d_deviation(d_prob, target, res.centres, res.p, res.q)
    return {"jsd": res.jsd, "max_abs_d_minus_half": largest, "mean_abs_d_minus_half": mean_under_m}


def diagnostics(
    G: torch.nn.Module, d_prob: Callable[[np.ndarray], np.ndarray], target: GaussianMixture, prior: str, scale: float
) -> dict[str, float]:
    """summary_1d of a 1-D torch G of 1-D noise on exact_1d's default grids (those of
    eval.density.z_grid and eval.density.x_bins)."""
    return summary_1d(exact_1d(numpy_generator(G), prior, scale, target), d_prob, target)


def expected_value_1d(
    D_logit: Callable[[np.ndarray], np.ndarray],
    G: Callable[[np.ndarray], np.ndarray],
    prior: str,
    scale: float,
    target: GaussianMixture,
    res: Exact1D,
) -> float:
    """V(G, D) of a given D by quadrature: E_data over the x grid, E_z over the noise grid (nats)."""
    data_part = float((res.p * _logsigmoid(D_logit(res.centres))).sum())
    z, u = noise_quantile_grid(prior, scale, res.z_nodes)
    z_mid = 0.5 * (z[1:] + z[:-1])
    fake_part = float((np.diff(u) * _logsigmoid(-D_logit(G(z_mid)))).sum())
    return data_part + fake_part


def _logsigmoid(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -np.asarray(a, dtype=np.float64))
