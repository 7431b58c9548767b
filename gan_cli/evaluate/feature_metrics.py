"""Sample-quality estimators on feature matrices (rows = samples): FID, KID, improved precision and
recall, density and coverage, and the class histogram of a classifier's labels.

FID and KID use torch-fidelity's arithmetic on the features given (float64 mean and covariance,
the trace of the matrix square root from the eigenvalues of S_r S_f; the unbiased MMD^2 with the
cubic polynomial kernel k(x, y) = (x.y / d + 1)^3). Precision/recall and density/coverage share
one pass over the k-NN distances here (torch-fidelity has no density/coverage and computes each
distance matrix twice); its precision/recall is the oracle of the tests. Every value is unitless except FID and KID, which are
in squared feature units. Intervals:
- FID: bootstrap s.e., real and fake rows resampled separately (FID is biased by n: print n).
- KID: mean +- s.e. over disjoint subsets (independent, so std / sqrt(subsets) is honest).
- precision, recall, coverage: binomial s.e. of the fraction, given the other set's k-NN balls
  (k-NN distances in float32: one matmul per chunk, shared by the four metrics).
- density: s.e. of the mean over fake rows of (balls containing it) / k, given the real balls.
- class KL: bootstrap s.e. over the labelled samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gan_cli.errors import GanError
from gan_cli.evaluate.distances import squared_distances
from gan_cli.evaluate.modes import kl_masses, wilson

PR_K = 3  # Kynkaanniemi et al. 2019
DC_K = 5  # Naeem et al. 2020
KID_DEGREE = 3
COVERED_SHARE = 0.1  # a class is covered when it holds >= 10 % of its training frequency (MNIST: >= ~1 % of samples)


def _fidelity(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"torch_fidelity.{module}")
    except ImportError:
        raise GanError(
            "FID, KID and precision/recall need the torch-fidelity package: pip install 'torch-fidelity>=0.4' "
            "(or set eval.features.enabled: false)"
        ) from None


def _rows(x: torch.Tensor | np.ndarray, name: str, least: int = 2) -> torch.Tensor:
    t = torch.as_tensor(x).detach().cpu().double()
    if t.ndim != 2 or len(t) < least:
        raise GanError(f"{name}: needs a (n, d) feature matrix with n >= {least}, got shape {tuple(t.shape)}")
    return t


# ---------------------------------------------------------------- FID


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) of two Gaussians (torch-fidelity, float64)."""
    m = _fidelity("metric_fid")
    as64 = lambda a: np.atleast_1d(np.asarray(a, dtype=np.float64))  # noqa: E731
    stats = [
        {"mu": as64(mu1), "sigma": np.atleast_2d(as64(sigma1))},
        {"mu": as64(mu2), "sigma": np.atleast_2d(as64(sigma2))},
    ]
    return float(m.fid_statistics_to_metric(stats[0], stats[1], verbose=False)[m.KEY_METRIC_FID])


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of the float64 sample means and covariances (n - 1) of two feature matrices."""
    m = _fidelity("metric_fid")
    a, b = (
        m.fid_features_to_statistics(_rows(x, name)) for x, name in ((real, "real features"), (fake, "fake features"))
    )
    return float(m.fid_statistics_to_metric(a, b, verbose=False)[m.KEY_METRIC_FID])


def fid_interval(real: torch.Tensor, fake: torch.Tensor, boot: int, seed: int) -> dict[str, Any]:
    """FID with a bootstrap s.e. over `boot` resamples of each side (null when boot < 2)."""
    real, fake = _rows(real, "real features"), _rows(fake, "fake features")
    value = fid(real, fake)
    stderr = None
    if boot >= 2:
        gen = torch.Generator().manual_seed(seed)
        reps = [
            fid(
                real[torch.randint(len(real), (len(real),), generator=gen)],
                fake[torch.randint(len(fake), (len(fake),), generator=gen)],
            )
            for _ in range(boot)
        ]
        stderr = float(np.std(reps, ddof=1))
    return {"value": value, "stderr": stderr, "n": [len(real), len(fake)], "boot": boot}


# ---------------------------------------------------------------- KID


def mmd2_unbiased(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size sets with the cubic kernel (x.y / d + 1)^3 (torch-fidelity)."""
    m = _fidelity("metric_kid")
    x, y = (np.asarray(torch.as_tensor(v).double().numpy()) for v in (x, y))
    kw = {
        "kid_kernel": "poly",
        "kid_kernel_poly_degree": KID_DEGREE,
        "kid_kernel_poly_gamma": None,
        "kid_kernel_poly_coef0": 1,
    }
    return float(m.kernel_mmd(x, y, **kw))


def kid(real: torch.Tensor, fake: torch.Tensor, subset_size: int, seed: int) -> dict[str, Any]:
    """KID: unbiased MMD^2 on disjoint subsets of min(subset_size, n / 2) rows of each side, mean +-
    std / sqrt(subsets). n = the smaller side; every subset pairs fresh real with fresh fake rows."""
    real, fake = _rows(real, "real features", 4), _rows(fake, "fake features", 4)
    n = min(len(real), len(fake))
    size = max(2, min(subset_size, n // 2))
    subsets = n // size
    gen = torch.Generator().manual_seed(seed)
    pr, pf = torch.randperm(len(real), generator=gen), torch.randperm(len(fake), generator=gen)
    vals = [
        mmd2_unbiased(real[pr[i * size : (i + 1) * size]], fake[pf[i * size : (i + 1) * size]]) for i in range(subsets)
    ]
    return {
        "value": float(np.mean(vals)),
        "stderr": float(np.std(vals, ddof=1) / math.sqrt(subsets)),
        "n": [subsets * size] * 2,
        "subsets": subsets,
        "subset_size": size,
    }


# ---------------------------------------------------------------- k-NN balls


def knn_sq(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Squared distances (float32, (n, k)) from each row to its 1st..k-th nearest other rows
    (duplicates count as neighbours): one chunked matmul and top-(k + 1) per row, self dropped."""
    x = _rows(x, "features", k + 1).float()
    sq = (x * x).sum(1)
    out = [
        squared_distances(x[i : i + chunk], x, sq).topk(k + 1, dim=1, largest=False).values[:, 1:]
        for i in range(0, len(x), chunk)
    ]
    return torch.cat(out)


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (float64)."""
    return knn_sq(x, k)[:, k - 1].double().sqrt()


def prdc(
    real: torch.Tensor,
    fake: torch.Tensor,
    pr_k: int = PR_K,
    dc_k: int = DC_K,
    real_knn: torch.Tensor | None = None,
    chunk: int = 2048,
) -> dict[str, Any]:
    """Improved precision and recall (k = pr_k; Kynkaanniemi et al. 2019) and density and coverage
    (k = dc_k; Naeem et al. 2020), closed balls, from one pass over the fake x real distances:

    precision = fraction of fake rows inside some real row's pr_k-NN ball
    recall    = fraction of real rows inside some fake row's pr_k-NN ball
    density   = mean over fake rows of (real dc_k-NN balls holding it) / dc_k  (1 for data)
    coverage  = fraction of real rows whose dc_k-NN ball holds a fake row

    Distances in float32 (one matmul per chunk). `real_knn` = knn_sq(real, max(pr_k, dc_k)) when
    the caller scores several fake sets against one real set. Matches torch-fidelity's precision
    and recall (tested), which computes each distance matrix twice and has no density/coverage.
    """
    kmax = max(pr_k, dc_k)
    real, fake = _rows(real, "real features", kmax + 1).float(), _rows(fake, "fake features", pr_k + 1).float()
    rk = real_knn if real_knn is not None else knn_sq(real, kmax, chunk)
    r_pr, r_dc = rk[:, pr_k - 1], rk[:, dc_k - 1]
    f_pr = knn_sq(fake, pr_k, chunk)[:, pr_k - 1]
    sq = (real * real).sum(1)
    precise = torch.zeros(len(fake), dtype=torch.bool)
    counts = torch.zeros(len(fake), dtype=torch.float64)
    covered = torch.zeros(len(real), dtype=torch.bool)
    recalled = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(fake), chunk):
        d = squared_distances(fake[i : i + chunk], real, sq)
        precise[i : i + chunk] = (d <= r_pr[None, :]).any(1)
        in_dc = d <= r_dc[None, :]
        counts[i : i + chunk] = in_dc.sum(1).double()
        covered |= in_dc.any(0)
        recalled |= (d <= f_pr[i : i + chunk, None]).any(0)
    per_fake = (counts / dc_k).numpy()
    return {
        "precision": _fraction(float(precise.double().mean()), len(fake)),
        "recall": _fraction(float(recalled.double().mean()), len(real)),
        "density": {
            "value": float(per_fake.mean()),
            "stderr": float(per_fake.std(ddof=1) / math.sqrt(len(fake))),
            "n": len(fake),
        },
        "coverage": _fraction(float(covered.double().mean()), len(real)),
        "pr_k": pr_k,
        "dc_k": dc_k,
    }


def _fraction(p: float, n: int) -> dict[str, Any]:
    lo, hi = wilson(round(p * n), n)
    return {"value": float(p), "stderr": math.sqrt(max(p * (1 - p), 0.0) / n), "n": n, "interval": [lo, hi]}


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = PR_K) -> dict[str, Any]:
    """Improved precision and recall alone (see prdc); binomial s.e."""
    r = prdc(real, fake, pr_k=k, dc_k=k)
    return {"precision": r["precision"], "recall": r["recall"], "k": k}


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = DC_K) -> dict[str, Any]:
    """Density and coverage alone (see prdc); s.e. given the real balls."""
    r = prdc(real, fake, pr_k=min(k, len(fake) - 1), dc_k=k)
    return {"density": r["density"], "coverage": r["coverage"], "k": k}


# ---------------------------------------------------------------- class histogram


def class_histogram(
    labels: torch.Tensor | np.ndarray,
    reference: np.ndarray,
    boot: int = 200,
    seed: int = 0,
    min_share: float = COVERED_SHARE,
) -> dict[str, Any]:
    """Classes covered of len(reference): those holding at least `min_share` of their reference
    frequency (so a classifier's rare mistakes do not cover a dropped class; a class with any sample
    is counted in `seen`), and KL(sample histogram || reference class frequencies) in nats with a
    bootstrap s.e. over the samples."""
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim != 1 or ref.sum() <= 0:
        raise GanError("the reference class histogram is empty")
    ref = ref / ref.sum()
    y = np.asarray(torch.as_tensor(labels).cpu().numpy(), dtype=np.int64)
    if len(y) == 0 or y.min() < 0 or y.max() >= len(ref):
        raise GanError(f"class labels must lie in 0..{len(ref) - 1}, and there must be at least one")
    counts = np.bincount(y, minlength=len(ref))
    kl = kl_masses(counts / len(y), ref)
    stderr = None
    if boot >= 2 and math.isfinite(kl):  # infinite (samples in a class the reference lacks): no spread to give
        rng = np.random.default_rng(seed)
        reps = [kl_masses(c / len(y), ref) for c in rng.multinomial(len(y), counts / len(y), size=boot)]
        stderr = float(np.std(reps, ddof=1))
    covered = int(
        (counts >= min_share * ref * len(y) * (1 - 1e-12)).sum()
    )  # at the bar counts (0.1 * 0.1 * 1000 is 10.000000000000002)
    return {
        "covered": covered,
        "seen": int((counts > 0).sum()),
        "min_share": min_share,
        "classes": len(ref),
        "kl": kl,
        "kl_stderr": stderr,
        "counts": counts.tolist(),
        "n": len(y),
    }
