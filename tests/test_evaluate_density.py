"""Known-density divergences: exact 1-D p_g by change of variables, the smoothed 2-D JSD, W1.

Oracles: an affine G of Gaussian noise makes p_g Gaussian, so JSD(p_data || p_g) is a 1-D integral
done by scipy quadrature (docs/evaluation.md); Theorem 1 says V(G, D*) = -log 4 + 2 JSD.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm

from gan_cli import toy
from gan_cli.evaluate import density as dn

pytestmark = pytest.mark.slow

LOG4 = math.log(4.0)
TARGET = toy.gaussian(4.0, 0.5)


def jsd_quad(p, q, lo: float, hi: float, points: list[float] | None = None) -> float:
    """JSD of two densities on the line by adaptive quadrature (nats)."""

    def f(x: float) -> float:
        a, b = p(x), q(x)
        m = 0.5 * (a + b)
        return (0.5 * a * math.log(a / m) if a > 0 else 0.0) + (0.5 * b * math.log(b / m) if b > 0 else 0.0)

    return quad(f, lo, hi, points=points, limit=1000, epsabs=1e-13, epsrel=1e-12)[0]


def affine(mu: float, s: float):
    return lambda z: mu + s * z


def data_pdf(x: float) -> float:
    return norm.pdf(x, 4.0, 0.5)


@pytest.mark.parametrize("mu,s", [(3.5, 0.7), (4.0, 0.3), (5.0, 0.5), (4.1, -0.6)])
def test_theorem_1_value_of_optimal_d_equals_minus_log4_plus_2jsd(mu: float, s: float) -> None:
    oracle = jsd_quad(data_pdf, lambda x: norm.pdf(x, mu, abs(s)), -10, 20, [mu, 4.0])
    r = dn.exact_1d(affine(mu, s), "normal", 1.0, TARGET, z_nodes=50_000, x_bins=20_000)
    assert r.value_optimal == pytest.approx(-LOG4 + 2 * oracle, abs=1e-4)
    assert r.jsd == pytest.approx(oracle, rel=0.02)  # the 2 %; in fact far closer:
    assert r.jsd == pytest.approx(oracle, abs=1e-6)


def test_optimal_discriminator_is_one_half_everywhere_when_p_g_equals_p_data() -> None:
    r = dn.exact_1d(affine(4.0, 0.5), "normal", 1.0, TARGET, z_nodes=20_000, x_bins=5_000)
    d_star = dn.optimal_discriminator(r.p, r.q)
    where = r.p > 1e-12  # beyond, CDF differences near 1 lose the mass to float64 rounding
    assert where.sum() > 2000
    assert np.nanmax(np.abs(d_star[where] - 0.5)) < 1e-6
    assert r.jsd == pytest.approx(0.0, abs=1e-10) and r.value_optimal == pytest.approx(-LOG4, abs=1e-9)
    assert r.w1 == pytest.approx(0.0, abs=1e-9)


def test_uniform_noise_gives_a_uniform_p_g_with_jumps() -> None:
    mu, s = 4.2, 0.3  # p_g = U(3.9, 4.5): its density jumps at both ends
    oracle = jsd_quad(data_pdf, lambda x: float(abs(x - mu) <= s) / (2 * s), -6, 14, [mu - s, mu + s])
    r = dn.exact_1d(affine(mu, s), "uniform", 1.0, TARGET, z_nodes=10_000, x_bins=5_000)
    assert r.jsd == pytest.approx(oracle, abs=1e-7)


def test_folded_generator_sums_over_both_preimages() -> None:
    # G(z) = |z - 4| + 3, z ~ N(4, 1) written as z = 4 + w: p_g(x) = 2 phi(x - 3) on x > 3
    G = lambda z: np.abs(z) + 3.0  # noqa: E731
    oracle = jsd_quad(data_pdf, lambda x: 2 * norm.pdf(x - 3.0) if x > 3 else 0.0, -6, 14, [3.0, 4.0])
    r = dn.exact_1d(G, "normal", 1.0, TARGET, z_nodes=200_000, x_bins=20_000)
    assert len(dn.PushforwardCDF.from_nodes(G(np.linspace(-2, 2, 11)), np.linspace(-2, 2, 11), np.linspace(0, 1, 11), lambda z: z).pieces) == 2
    assert r.jsd == pytest.approx(oracle, abs=1e-6)


def test_flat_piece_of_g_is_a_point_mass() -> None:
    # G(z) = 4 + max(z, 0): half the noise lands on the atom x = 4, which p_data cannot match
    G = lambda z: 4.0 + np.maximum(z, 0.0)  # noqa: E731
    continuous = jsd_quad(data_pdf, lambda x: norm.pdf(x - 4.0) if x > 4 else 0.0, -6, 14, [4.0])
    oracle = continuous + 0.5 * 0.5 * math.log(2.0)  # the atom's mass m counts (m/2) log 2
    r = dn.exact_1d(G, "normal", 1.0, TARGET, z_nodes=200_000, x_bins=20_000)
    assert r.jsd == pytest.approx(oracle, abs=1e-6)
    assert dn.PushforwardCDF.from_nodes(G(np.linspace(-1, 1, 5)), np.linspace(-1, 1, 5), np.linspace(0, 1, 5), lambda z: z).atoms() == [(4.0, 0.5)]


def test_w1_of_two_gaussians_matches_the_closed_form() -> None:
    mu, s = 3.5, 0.7
    a, b = 4.0 - mu, 0.5 - s  # W1 = E|a + b Z| for the quantile coupling
    oracle = abs(b) * math.sqrt(2 / math.pi) * math.exp(-(a * a) / (2 * b * b)) + a * (1 - 2 * norm.cdf(-a / abs(b)))
    r = dn.exact_1d(affine(mu, s), "normal", 1.0, TARGET, z_nodes=50_000, x_bins=20_000)
    assert r.w1 == pytest.approx(oracle, abs=1e-6)
    fake = np.random.default_rng(0).normal(mu, s, 50_000)
    assert dn.w1_samples_1d(TARGET, fake) == pytest.approx(oracle, abs=0.01)


def test_expected_value_of_a_given_d_by_quadrature() -> None:
    # D(x) with logit a(x) = c (constant): V = log sigmoid(c) + log sigmoid(-c), whatever G is
    r = dn.exact_1d(affine(3.5, 0.7), "normal", 1.0, TARGET, z_nodes=20_000, x_bins=5_000)
    v = dn.expected_value_1d(lambda x: np.full(np.shape(x), 0.3), affine(3.5, 0.7), "normal", 1.0, TARGET, r)
    assert v == pytest.approx(-math.log1p(math.exp(-0.3)) - math.log1p(math.exp(0.3)), abs=1e-9)
    # the optimal D's logit log(p/q) attains V(G, D*)
    d_star_logit = lambda x: norm.logpdf(x, 4.0, 0.5) - norm.logpdf(x, 3.5, 0.7)  # noqa: E731
    v_star = dn.expected_value_1d(d_star_logit, affine(3.5, 0.7), "normal", 1.0, TARGET, r)
    assert v_star == pytest.approx(r.value_optimal, abs=1e-5)


def test_discrete_value_of_optimal_d_is_minus_log4_plus_2jsd() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(7) * 0.3), rng.dirichlet(np.ones(7) * 0.3)
        q[rng.integers(7)] = 0.0
        q /= q.sum()
        assert dn.value_optimal_masses(p, q) == pytest.approx(-LOG4 + 2 * dn.jsd_masses(p, q), abs=1e-12)
    assert dn.jsd_masses(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(math.log(2))


def test_smoothed_jsd_matches_the_smoothed_gaussians_in_1d() -> None:
    h, mu, s = 0.05, 3.5, 0.7
    sp, sq = math.hypot(0.5, h), math.hypot(s, h)
    oracle = jsd_quad(lambda x: norm.pdf(x, 4.0, sp), lambda x: norm.pdf(x, mu, sq), -10, 20, [mu, 4.0])
    gen = torch.Generator().manual_seed(0)
    fake = (mu + s * torch.randn(12_000, 1, generator=gen)).double()
    r = dn.smoothed_jsd(TARGET, fake, h, 6_000, gen)
    assert abs(r["jsd"] - oracle) < 4 * r["stderr"] + 2e-3
    assert r["jsd"] == pytest.approx(jsd_quad(data_pdf, lambda x: norm.pdf(x, mu, s), -10, 20, [mu, 4.0]), rel=0.05)


@pytest.mark.parametrize("s,oracle", [(8, 0.0), (4, 0.2158), (1, 0.4969)])
def test_smoothed_jsd_works_at_component_std_002(s: int, oracle: float) -> None:
    # ring-8, std 0.02: a generator exactly equal to s of the 8 components; a Scott-bandwidth KDE
    # reported -1.44 for the perfect one (docs/evaluation.md)
    ring = toy.ring(8, 2.0, 0.02)
    gen = torch.Generator().manual_seed(s)
    half = toy.GaussianMixture(ring.means[:s], ring.stds[:s], torch.full((s,), 1.0 / s, dtype=torch.float64))
    fake = half.sample(6_000, gen)
    r = dn.smoothed_jsd(ring, fake, 0.5 * 0.02, 3_000, gen)
    assert abs(r["jsd"] - oracle) < 4 * r["stderr"] + 5e-3, r


def test_exact_optimal_transport_w1() -> None:
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert dn.w1_exact_ot(a, b) == pytest.approx(1.0)
    assert dn.w1_exact_ot(a, a[::-1]) == pytest.approx(0.0)


def test_smoothed_jsd_stays_stable_when_some_samples_are_sparser_than_the_kernel() -> None:
    # 85 % a perfect ring-8 generator, 15 % spread uniformly over [-3, 3]^2 (like a GAN's bridges
    # between modes): q is known, so the JSD is a Monte Carlo integral of exact densities. The
    # diffuse part is unchanged by smoothing at h = 0.01, so the smoothed JSD is close to it.
    ring = toy.ring(8, 2.0, 0.02)
    gen = torch.Generator().manual_seed(7)

    def log_q(x: torch.Tensor) -> torch.Tensor:
        inside = (x.abs() <= 3).all(dim=1)
        uniform = torch.where(inside, torch.full((len(x),), math.log(0.15 / 36), dtype=torch.float64), torch.tensor(-math.inf, dtype=torch.float64))
        return torch.logaddexp(math.log(0.85) + ring.log_prob(x), uniform)

    def draw(n: int) -> torch.Tensor:
        x = ring.sample(n, gen).double()
        spread = torch.rand(n, generator=gen) < 0.15
        x[spread] = (torch.rand(int(spread.sum()), 2, generator=gen, dtype=torch.float64) * 6 - 3)
        return x

    xp, xq = ring.sample(100_000, gen).double(), draw(100_000)
    a = math.log(2) + ring.log_prob(xp) - torch.logaddexp(ring.log_prob(xp), log_q(xp))
    b = math.log(2) + log_q(xq) - torch.logaddexp(ring.log_prob(xq), log_q(xq))
    true = 0.5 * float(a.mean() + b.mean())
    r = dn.smoothed_jsd(ring, draw(6_000), 0.01, 6_000, gen)
    assert r["stderr"] < 0.01
    assert abs(r["jsd"] - true) < 4 * r["stderr"] + 0.01, (r, true)


def test_d_deviation_is_zero_for_d_one_half_and_measures_a_tilted_d() -> None:
    from types import SimpleNamespace

    from gan_cli.evaluate.known_target import _d_deviation
    from gan_cli.toy import gaussian

    target = gaussian(0.0, 0.5)
    r = SimpleNamespace(p=np.array([0.5, 0.5]), q=np.array([0.5, 0.5]), centres=np.array([-0.1, 0.1]))
    flat = _d_deviation(lambda x: np.zeros_like(np.asarray(x, dtype=float)), target, r)
    assert flat["value"] == 0.0 and flat["mean_under_m"] == 0.0
    tilted = _d_deviation(lambda x: np.asarray(x, dtype=float), target, r)  # D = sigmoid(x)
    assert abs(tilted["value"] - (1 / (1 + np.exp(-1.5)) - 0.5)) < 1e-9, "largest at mean + 3 std = 1.5"
    assert abs(tilted["mean_under_m"] - (1 / (1 + np.exp(-0.1)) - 0.5)) < 1e-9
