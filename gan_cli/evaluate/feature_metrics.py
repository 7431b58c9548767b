"""Sample-quality estimators on feature matrices (rows = samples): FID, KID, improved precision and
recall, density and coverage, and the class histogram of a classifier's labels.

FID, KID and precision/recall use torch-fidelity's arithmetic on the features given (float64 mean
and covariance, the trace of the matrix square root from the eigenvalues of S_r S_f; the unbiased
MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3; k-NN balls); density and
coverage, which it lacks, are written here. Every value is unitless except FID and KID, which are
in squared feature units. Intervals:
- FID: bootstrap s.e., real and fake rows resampled separately (FID is biased by n: print n).
- KID: mean +- s.e. over disjoint subsets (independent, so std / sqrt(subsets) is honest).
- precision, recall, coverage: binomial s.e. of the fraction, given the other set's k-NN balls.
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


def _fidelity(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"torch_fidelity.{module}")
    except ImportError:
        raise GanError(
            "FID, KID and precision/recall need the torch-fidelity package: pip install 'torch-fidelity>=0.4' "
            "(or set eval.features: false)"
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
    stats = [{"mu": as64(mu1), "sigma": np.atleast_2d(as64(sigma1))}, {"mu": as64(mu2), "sigma": np.atleast_2d(as64(sigma2))}]
    return float(m.fid_statistics_to_metric(stats[0], stats[1], verbose=False)[m.KEY_METRIC_FID])


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of the float64 sample means and covariances (n - 1) of two feature matrices."""
    m = _fidelity("metric_fid")
    a, b = (m.fid_features_to_statistics(_rows(x, name)) for x, name in ((real, "real features"), (fake, "fake features")))
    return float(m.fid_statistics_to_metric(a, b, verbose=False)[m.KEY_METRIC_FID])


def fid_interval(real: torch.Tensor, fake: torch.Tensor, boot: int, seed: int) -> dict[str, Any]:
    """FID with a bootstrap s.e. over `boot` resamples of each side (null when boot < 2)."""
    real, fake = _rows(real, "real features"), _rows(fake, "fake features")
    value = fid(real, fake)
    stderr = None
    if boot >= 2:
        gen = torch.Generator().manual_seed(seed)
        reps = [
            fid(real[torch.randint(len(real), (len(real),), generator=gen)], fake[torch.randint(len(fake), (len(fake),), generator=gen)])
            for _ in range(boot)
        ]
        stderr = float(np.std(reps, ddof=1))
    return {"value": value, "stderr": stderr, "n": [len(real), len(fake)], "boot": boot}


# ---------------------------------------------------------------- KID


def mmd2_unbiased(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size sets with the cubic kernel (x.y / d + 1)^3 (torch-fidelity)."""
    m = _fidelity("metric_kid")
    x, y = (np.asarray(torch.as_tensor(v).double().numpy()) for v in (x, y))
    kw = {"kid_kernel": "poly", "kid_kernel_poly_degree": KID_DEGREE, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
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
    vals = [mmd2_unbiased(real[pr[i * size : (i + 1) * size]], fake[pf[i * size : (i + 1) * size]]) for i in range(subsets)]
    return {"value": float(np.mean(vals)), "stderr": float(np.std(vals, ddof=1) / math.sqrt(subsets)), "n": [subsets * size] * 2, "subsets": subsets, "subset_size": size}


# ---------------------------------------------------------------- k-NN balls


def knn_radii(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (float64; duplicates count as neighbours)."""
    x = _rows(x, "features", k + 1)
    sq = (x * x).sum(1)
    out = [squared_distances(x[i : i + chunk], x, sq).topk(k + 1, dim=1, largest=False).values[:, k] for i in range(0, len(x), chunk)]
    return torch.cat(out).sqrt()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = PR_K, batch: int = 2048) -> dict[str, Any]:
    """Improved precision (fake rows inside some real row's k-NN ball) and recall (real rows inside
    some fake row's k-NN ball), closed balls, torch-fidelity's implementation; binomial s.e."""
    m = _fidelity("metric_prc")
    real, fake = _rows(real, "real features", k + 1), _rows(fake, "fake features", k + 1)
    p, r = m.calculate_precision_recall_part(fake, real, neighborhood=k, batch_size=batch)
    return {
        "precision": _fraction(p, len(fake)),
        "recall": _fraction(r, len(real)),
        "k": k,
    }


def _fraction(p: float, n: int) -> dict[str, Any]:
    lo, hi = wilson(round(p * n), n)
    return {"value": float(p), "stderr": math.sqrt(max(p * (1 - p), 0.0) / n), "n": n, "interval": [lo, hi]}


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = DC_K, chunk: int = 2048) -> dict[str, Any]:
    """Density = mean over fake rows of (real k-NN balls containing it) / k; coverage = fraction of
    real rows whose k-NN ball contains a fake row (Naeem et al. 2020; closed balls)."""
    real, fake = _rows(real, "real features", k + 1), _rows(fake, "fake features", 1)
    r2 = knn_radii(real, k, chunk).square()
    sq = (real * real).sum(1)
    counts = torch.zeros(len(fake), dtype=torch.float64)
    covered = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(fake), chunk):
        inside = squared_distances(fake[i : i + chunk], real, sq) <= r2[None, :]
        counts[i : i + chunk] = inside.sum(1).double()
        covered |= inside.any(0)
    per_fake = (counts / k).numpy()
    density = {"value": float(per_fake.mean()), "stderr": float(per_fake.std(ddof=1) / math.sqrt(len(fake))) if len(fake) > 1 else None, "n": len(fake)}
    return {"density": density, "coverage": _fraction(float(covered.double().mean()), len(real)), "k": k}


# ---------------------------------------------------------------- class histogram


def class_histogram(labels: torch.Tensor | np.ndarray, reference: np.ndarray, boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """Classes covered (at least one sample) of len(reference), and KL(sample histogram ||
    reference class frequencies) in nats with a bootstrap s.e. over the samples."""
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
    if boot >= 2:
        rng = np.random.default_rng(seed)
        reps = [kl_masses(c / len(y), ref) for c in rng.multinomial(len(y), counts / len(y), size=boot)]
        stderr = float(np.std(reps, ddof=1))
    return {"covered": int((counts > 0).sum()), "classes": len(ref), "kl": kl, "kl_stderr": stderr, "counts": counts.tolist(), "n": len(y)}
