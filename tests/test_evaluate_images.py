"""Parzen log-likelihood (gan_cli.evaluate.parzen through gan eval's image section) and the memorisation check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from gan_cli.errors import GanError
from gan_cli.evaluate import distances, images, parzen

CPU = torch.device("cpu")


def direct_numpy(x: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/k) sum_j N(x; mu_j, sigma^2 I), straight from the definition (float64)."""
    sq = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    d = x.shape[1]
    return logsumexp(-sq / (2 * sigma**2), axis=1) - math.log(len(mu)) - d * math.log(sigma * math.sqrt(2 * math.pi))


def gaussian_data(seed: int, n: int, d: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, d))


def test_parzen_with_true_samples_as_kernels_matches_numpy() -> None:
    kernels, x = gaussian_data(0, 400), gaussian_data(1, 150)
    for sigma in (0.3, 0.7):
        want = direct_numpy(x, kernels, sigma)
        got = parzen.log_likelihoods(torch.tensor(x), torch.tensor(kernels), [sigma], chunk=64, dtype=torch.float64)[0].numpy()
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
        got32 = parzen.log_likelihoods(torch.tensor(x), torch.tensor(kernels), [sigma], chunk=64)[0].numpy()
        np.testing.assert_allclose(got32, want, atol=1e-3, rtol=0)  # float32 distances, as the protocol runs


def test_parzen_estimate_approaches_the_known_density() -> None:
    # N(0, I_2) data, many kernels from the same law, small sigma: the estimate is close to log p(x)
    kernels, x = gaussian_data(2, 20_000, 2), gaussian_data(3, 2_000, 2)
    ll = parzen.log_likelihoods(torch.tensor(x), torch.tensor(kernels), [0.15], dtype=torch.float64)[0].numpy()
    true = -0.5 * (x**2).sum(1) - math.log(2 * math.pi)
    # smoothing by sigma inflates the variance to 1 + sigma^2: the expected log-density is exact
    smoothed = -0.5 * (x**2).sum(1) / (1 + 0.15**2) - math.log(2 * math.pi * (1 + 0.15**2))
    assert ll.mean() == pytest.approx(smoothed.mean(), abs=0.03)
    assert abs(ll.mean() - true.mean()) < 0.05


def test_sigma_selection_picks_the_grid_argmax() -> None:
    kernels, valid = gaussian_data(4, 300), gaussian_data(5, 100)
    grid = list(parzen.PAPER_SIGMAS)
    sigma, means = parzen.select_sigma(torch.tensor(valid), torch.tensor(kernels), grid)
    direct = [direct_numpy(valid, kernels, s).mean() for s in grid]
    np.testing.assert_allclose(means, direct, atol=1e-3)
    assert sigma == grid[int(np.argmax(direct))]


def test_parzen_metric_scores_test_images_with_the_validation_sigma() -> None:
    kernels, valid, test = (torch.tensor(gaussian_data(s, n)) for s, n in ((6, 300), (7, 50), (8, 80)))
    r = images.parzen_metric(kernels, valid, "test", test, n_valid=20)
    sigma = parzen.select_sigma(valid[:20], kernels)[0]
    ll = direct_numpy(test.numpy(), kernels.numpy(), sigma)
    assert r["sigma"] == sigma and r["n"] == 80 and r["n_valid"] == 20 and r["n_kernels"] == 300
    assert r["mean"] == pytest.approx(ll.mean(), abs=1e-3)
    assert r["stderr"] == pytest.approx(ll.std(ddof=1) / math.sqrt(80), rel=1e-3)


def test_parzen_on_the_validation_split_never_scores_the_sigma_choosing_images() -> None:
    kernels, valid = torch.tensor(gaussian_data(9, 200)), torch.tensor(gaussian_data(10, 50))
    r = images.parzen_metric(kernels, valid, "valid", valid[:0], n_valid=20)
    assert r["n"] == 30
    sigma = parzen.select_sigma(valid[:20], kernels)[0]
    assert r["mean"] == pytest.approx(direct_numpy(valid[20:].numpy(), kernels.numpy(), sigma).mean(), abs=1e-3)
    with pytest.raises(GanError, match="eval.parzen.valid_examples"):
        images.parzen_metric(kernels, valid, "valid", valid[:0], n_valid=50)


def test_nearest_distances_match_brute_force() -> None:
    q, ref = torch.tensor(gaussian_data(11, 30)), torch.tensor(gaussian_data(12, 70))
    brute = torch.cdist(q, ref).min(dim=1).values
    assert torch.allclose(distances.nearest(q, ref, CPU, chunk=7)[0], brute, atol=1e-4)


def test_memorisation_ratio_detects_copies() -> None:
    train = torch.rand(500, 64, generator=torch.Generator().manual_seed(0))
    held = torch.rand(200, 64, generator=torch.Generator().manual_seed(1))
    fresh = torch.rand(200, 64, generator=torch.Generator().manual_seed(2))
    copies = train[:200] + 1e-3 * torch.randn(200, 64, generator=torch.Generator().manual_seed(3))
    like_real = images.memorisation(fresh, held, train, CPU, seed=0)
    copied = images.memorisation(copies, held, train, CPU, seed=0)
    assert abs(like_real["value"] - 1.0) < 4 * like_real["stderr"] + 0.02
    assert copied["value"] < 0.05 and copied["closer_than_real_p01"] == 1.0
    with pytest.raises(GanError):
        images.memorisation(fresh[:1], held, train, CPU, seed=0)
