"""Toy targets with exact log densities and samplers: 1-D Gaussian and Gaussian mixtures.

Ring-8 (Metz et al. 2017): 8 equal-weight modes at angles 2*pi*i/8, radius 2, std 0.02.
Grid-25 (PacGAN, VEEGAN): means {-4, -2, 0, 2, 4}^2, std 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_cli.config import DataConfig

DEFAULT_STD = {"gaussian": 0.5, "ring": 0.02, "grid": 0.05, "mixture": 0.1}


@dataclass(frozen=True)
class GaussianMixture:
    """Isotropic Gaussian mixture in any dimension; a 1-D Gaussian is the 1-component case.

    means: (K, d); stds: (K,); weights: (K,) summing to 1.
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    @property
    def num_modes(self) -> int:
        return int(self.means.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples, float32, shape (n, d), drawn on the CPU from `generator`."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        x = self.means[comp] + self.stds[comp, None] * eps
        return x.float()

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log(w_k N(x; mu_k, s_k^2 I)) for every component, shape (n, K), float64."""
        x = x.to(torch.float64)
        d = self.dim
        sq = torch.cdist(x, self.means.to(x.device)) ** 2
        s = self.stds.to(x.device)
        return (
            torch.log(self.weights.to(x.device)) - sq / (2 * s**2) - d * torch.log(s) - 0.5 * d * math.log(2 * math.pi)
        )

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p_data(x), shape (n,), float64."""
        return torch.logsumexp(self.component_log_prob(x), dim=1)


def ring(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    # angles 2*pi*i/K, i = 0..K-1; linspace with the endpoint would give K-1 distinct modes
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(
        means, torch.full((modes,), std, dtype=torch.float64), torch.full((modes,), 1.0 / modes, dtype=torch.float64)
    )


def grid(size: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    coords = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2) * spacing
    gx, gy = torch.meshgrid(coords, coords, indexing="ij")
    means = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    k = size * size
    return GaussianMixture(
        means, torch.full((k,), std, dtype=torch.float64), torch.full((k,), 1.0 / k, dtype=torch.float64)
    )


def gaussian(mean: float = 4.0, std: float = 0.5) -> GaussianMixture:
    return GaussianMixture(
        torch.tensor([[mean]], dtype=torch.float64),
        torch.tensor([std], dtype=torch.float64),
        torch.ones(1, dtype=torch.float64),
    )


def from_config(cfg: DataConfig) -> GaussianMixture:
    """The toy target named by `cfg.name` (gaussian | ring | grid | mixture)."""
    std = cfg.std if cfg.std is not None else DEFAULT_STD[cfg.name]
    if cfg.name == "gaussian":
        return gaussian(cfg.mean, std)
    if cfg.name == "ring":
        return ring(cfg.modes, cfg.radius, std)
    if cfg.name == "grid":
        return grid(cfg.grid_size, cfg.spacing, std)
    if cfg.name == "mixture":
        assert cfg.means is not None
        means = torch.tensor(cfg.means, dtype=torch.float64)
        k = means.shape[0]
        w = torch.tensor(cfg.weights if cfg.weights is not None else [1.0] * k, dtype=torch.float64)
        return GaussianMixture(means, torch.full((k,), std, dtype=torch.float64), w / w.sum())
    raise ValueError(f"not a toy dataset: {cfg.name}")
