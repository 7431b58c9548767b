"""The feature-space estimators (gan_cli.evaluate.feature_metrics) against closed forms and
hand-computed answers: FID of Gaussians, KID's unbiasedness and its polynomial-kernel closed form,
precision/recall and density/coverage on constructed point sets, the class histogram."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from gan_cli.errors import GanError
from gan_cli.evaluate import feature_metrics as fm


def exact_moments(n: int, mu: np.ndarray, cov: np.ndarray, seed: int) -> torch.Tensor:
    """n rows whose sample mean is exactly mu and sample covariance (n - 1) exactly cov."""
    z = np.random.default_rng(seed).normal(size=(n, len(mu)))
    z -= z.mean(0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)))
    return torch.tensor(z @ whiten.T @ np.linalg.cholesky(cov).T + mu)


def closed_form_fid(mu1: np.ndarray, c1: np.ndarray, mu2: np.ndarray, c2: np.ndarray) -> float:
    root = sqrtm(sqrtm(c1) @ c2 @ sqrtm(c1)).real  # tr (C1 C2)^(1/2) = tr (C1^(1/2) C2 C1^(1/2))^(1/2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.trace(root))


def test_fid_of_diagonal_gaussians_is_the_closed_form() -> None:
    # N(mu1, diag s1), N(mu2, diag s2): FID = |mu1 - mu2|^2 + sum (sqrt s1 - sqrt s2)^2
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    want = 1.0 + 4.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert fm.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(want, abs=1e-10)
    assert fm.frechet_distance(mu1, np.diag(s1), mu1, np.diag(s1)) == pytest.approx(0.0, abs=1e-10)


def test_fid_of_features_with_known_moments_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    d = 6
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    c1, c2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    x, y = exact_moments(500, mu1, c1, 1), exact_moments(300, mu2, c2, 2)
    assert fm.fid(x, y) == pytest.approx(closed_form_fid(mu1, c1, mu2, c2), rel=1e-9)
    assert fm.fid(x, x) == pytest.approx(0.0, abs=1e-8)
    assert fm.fid(x.float(), y.float()) == pytest.approx(fm.fid(x, y), rel=1e-5), "float32 input is computed in float64"


def test_fid_of_gaussian_samples_converges_to_the_population_value() -> None:
    # N(0, I) against N(0.5 * 1, 4 I) in d = 4: 4 * 0.25 + 4 * (1 - 2)^2 = 5
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(20_000, 4, generator=gen, dtype=torch.float64)
    y = 0.5 + 2 * torch.randn(20_000, 4, generator=gen, dtype=torch.float64)
    r = fm.fid_interval(x, y, boot=20, seed=1)
    assert r["n"] == [20_000, 20_000] and r["stderr"] > 0
    assert abs(r["value"] - 5.0) < 4 * r["stderr"] + 0.01


def direct_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 straight from its definition, with loops (x, y: (m, d))."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_mmd2_matches_its_definition() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(7, 3))
    assert fm.mmd2_unbiased(x, y) == pytest.approx(direct_mmd2_unbiased(x, y), rel=1e-12)


def test_kid_is_unbiased_on_equal_distributions() -> None:
    # the mean of many small-subset estimates is 0 within its s.e.; a biased (V-statistic) estimate
    # of the same pairs is positive by about (E k(x, x) - E k(x, y)) / m * 2
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(20_000, 8, generator=gen), torch.randn(20_000, 8, generator=gen)
    r = fm.kid(x, y, subset_size=50, seed=0)
    assert r["subsets"] == 400 and r["subset_size"] == 50 and r["n"] == [20_000, 20_000]
    assert abs(r["value"]) < 3 * r["stderr"]
    xs = x[:50].double().numpy()
    biased_gap = ((np.einsum("ij,ij->i", xs, xs) / 8 + 1) ** 3).mean() * 2 / 50
    assert biased_gap > 20 * r["stderr"], "the test can tell an unbiased estimator from a biased one"


def test_kid_matches_the_closed_form_for_shifted_gaussians() -> None:
    # d = 1, k(x, y) = (x y + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 x y + 1, so
    # MMD^2 = (m3(P) - m3(Q))^2 + 3 (m2(P) - m2(Q))^2 + 3 (m1(P) - m1(Q))^2 with raw moments m_j.
    # P = N(0, 1): (0, 1, 0); Q = N(mu, 1): (mu, 1 + mu^2, mu^3 + 3 mu)
    mu = 0.5
    want = (mu**3 + 3 * mu) ** 2 + 3 * mu**4 + 3 * mu**2
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(20_000, 1, generator=gen), mu + torch.randn(20_000, 1, generator=gen)
    r = fm.kid(x, y, subset_size=500, seed=0)
    assert r["subsets"] == 40
    assert abs(r["value"] - want) < 4 * r["stderr"], (r, want)


def test_kid_uses_smaller_subsets_when_n_is_small() -> None:
    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    r = fm.kid(x, x + 1, subset_size=1000, seed=0)
    assert r["subset_size"] == 5 and r["subsets"] == 2 and r["value"] > 0
    with pytest.raises(GanError, match="n >= 4"):
        fm.kid(x[:3], x[:3], 1000, 0)


def column(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)[:, None]


def test_precision_and_recall_on_a_line_by_hand() -> None:
    # real {0, 1, 2, 3, 10}: 1-NN radii 1, 1, 1, 1, 7. fake {0.5, 5, 20}: 1-NN radii 4.5, 4.5, 15.
    # precision: 0.5 in ball(0, 1), 5 in ball(10, 7), 20 in none -> 2/3
    # recall: 0..3 in ball(0.5, 4.5), 10 in ball(20, 15) -> 5/5
    r = fm.precision_recall(column(0, 1, 2, 3, 10), column(0.5, 5, 20), k=1)
    assert r["precision"]["value"] == pytest.approx(2 / 3) and r["precision"]["n"] == 3
    assert r["recall"]["value"] == pytest.approx(1.0) and r["recall"]["n"] == 5
    assert r["precision"]["stderr"] == pytest.approx(math.sqrt(2 / 9 / 3))
    # fake far from everything: precision 0; its own balls are tiny: recall 0
    r = fm.precision_recall(column(0, 1, 2, 3, 10), column(100, 100.1, 100.2), k=1)
    assert r["precision"]["value"] == 0.0 and r["recall"]["value"] == 0.0


def test_precision_recall_default_k_is_three_and_balls_are_closed() -> None:
    # real on integers 0..9: the 3rd-NN radius of 0 is 3, of 5 is 2. A fake at -3 sits exactly on
    # ball(0, 3) and is inside it; a fake at -3.5 is outside every ball.
    real = column(*range(10))
    assert fm.precision_recall(real, column(-3, 4, 4.5, 9), )["k"] == 3
    assert fm.precision_recall(real, column(-3, 4, 4.5, 9))["precision"]["value"] == 1.0
    assert fm.precision_recall(real, column(-3.5, 4, 4.5, 9))["precision"]["value"] == 0.75


def test_precision_recall_match_torch_fidelity() -> None:
    prc = pytest.importorskip("torch_fidelity.metric_prc")
    gen = torch.Generator().manual_seed(5)
    real, fake = torch.randn(700, 6, generator=gen, dtype=torch.float64), 0.3 + 1.2 * torch.randn(500, 6, generator=gen, dtype=torch.float64)
    p, r = prc.calculate_precision_recall_part(fake, real, neighborhood=3, batch_size=256)
    ours = fm.prdc(real, fake, chunk=128)
    assert ours["precision"]["value"] == pytest.approx(p, abs=1 / 500 + 1e-12) and ours["recall"]["value"] == pytest.approx(r, abs=1 / 700 + 1e-12)
    assert 0.2 < ours["precision"]["value"] < 0.99 and 0.2 < ours["recall"]["value"] < 0.99, "neither is trivially 0 or 1"
    shared = fm.prdc(real, fake, real_knn=fm.knn_sq(real, 5))
    assert {k: shared[k]["value"] for k in ("precision", "recall", "density", "coverage")} == {k: ours[k]["value"] for k in ("precision", "recall", "density", "coverage")}


def test_density_and_coverage_by_hand() -> None:
    # real {0, 1, 2, 10, 11, 12}, k = 2: radii 2, 1, 2, 2, 1, 2.
    # fake 1: in balls of 0 (|1| <= 2), 1, 2 -> 3; fake 1.5: balls of 0? 1.5 <= 2 yes, 1 yes, 2 yes -> 3;
    # fake 30: none. density = (3 + 3 + 0) / (2 * 3) = 1; covered reals: 0, 1, 2 of 6 -> 0.5
    r = fm.density_coverage(column(0, 1, 2, 10, 11, 12), column(1, 1.5, 30), k=2)
    assert r["density"]["value"] == pytest.approx(1.0) and r["density"]["n"] == 3
    assert r["density"]["stderr"] == pytest.approx(np.std([1.5, 1.5, 0.0], ddof=1) / math.sqrt(3))
    assert r["coverage"]["value"] == pytest.approx(0.5) and r["coverage"]["n"] == 6
    assert fm.density_coverage(column(0, 1, 2, 10, 11, 12), column(1, 1.5, 30))["k"] == 5


def test_density_coverage_of_real_against_itself_and_a_collapsed_copy() -> None:
    gen = torch.Generator().manual_seed(0)
    real, fresh = torch.randn(2000, 4, generator=gen), torch.randn(2000, 4, generator=gen)
    same = fm.density_coverage(real, fresh)
    assert abs(same["density"]["value"] - 1.0) < 0.1 and same["coverage"]["value"] > 0.9
    collapsed = fm.density_coverage(real, real[:1].repeat(2000, 1))  # every fake on one real point
    assert collapsed["coverage"]["value"] < 0.01
    assert fm.knn_radii(column(0, 0, 5), 1).tolist() == [0.0, 0.0, 5.0], "duplicates are neighbours"


def test_class_histogram_counts_classes_and_kl() -> None:
    ref = np.full(10, 0.1)
    r = fm.class_histogram(np.array([0, 0, 1, 1]), ref, boot=0)
    assert r["covered"] == 2 and r["seen"] == 2 and r["classes"] == 10 and r["counts"][:3] == [2, 2, 0]
    assert r["kl"] == pytest.approx(math.log(5)), "two equal classes of ten: KL = log(10 / 2)"
    assert r["kl_stderr"] is None
    uniform = fm.class_histogram(np.arange(1000) % 10, ref, boot=50)
    assert uniform["covered"] == 10 and uniform["kl"] == pytest.approx(0.0, abs=1e-12) and uniform["kl_stderr"] > 0
    # five classes dropped, but a classifier's mistakes put a few samples in them: seen, not covered.
    # 10 % of a 0.1 training share is 1 % of the samples: 9 of 1,000 is below, 10 is at the bar
    mistakes = np.concatenate([np.arange(955) % 5, [5] * 9, [6] * 10, [7, 8, 9] * 2, [0] * 20])
    r = fm.class_histogram(mistakes, ref, boot=0)
    assert r["n"] == 1000 and r["seen"] == 10 and r["covered"] == 6
    with pytest.raises(GanError, match="0..9"):
        fm.class_histogram(np.array([10]), ref)


def test_an_infinite_class_kl_has_no_stderr_rather_than_nan() -> None:
    # samples in a class the reference never holds (a small stacked-MNIST reference): KL is
    # infinite, and the bootstrap's spread was NaN (numpy's 'invalid value' warning)
    ref = np.array([0.5, 0.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fm.class_histogram(np.array([0, 1, 2, 2]), ref, boot=50)
    assert r["kl"] == math.inf and r["kl_stderr"] is None
