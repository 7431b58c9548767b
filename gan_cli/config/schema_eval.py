"""The `eval` section of the config: `gan eval`'s defaults, the general ones, then one section per
estimator (critic, density, modes, parzen, memorisation, features, stacked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gan_cli.config.fields import doc_field as _f


@dataclass(frozen=True)
class CriticEvalConfig:
    """The fresh-critic lower bound on JSD (jsd_critic): critics trained from scratch to tell held-out data from G's samples."""

    architecture: Literal["discriminator", "mlp"] = _f(
        "discriminator", "the config's discriminator, or an MLP of two `units` leaky-ReLU layers"
    )
    units: int = _f(128, "hidden units per layer of the 'mlp' critic", gt=0)
    seeds: int = _f(3, "fresh critics trained (one per seed); the JSD bound is their mean +- s.e.", gt=0)
    steps: int = _f(2000, "most Adam steps per critic (it stops early on its validation split)", gt=0)
    batch_size: int = _f(256, "real and generated examples per critic step (each)", gt=0)
    lr: float = _f(1e-3, "critic Adam learning rate", gt=0.0)
    check_every: int = _f(100, "critic steps between validation checks (early stopping)", gt=0)
    patience: int = _f(5, "validation checks without improvement before the critic stops", gt=0)


@dataclass(frozen=True)
class DensityEvalConfig:
    """Toy data's density metrics: exact p_g in 1-D, smoothed JSD otherwise, and W1."""

    z_grid: int = _f(1_000_000, "1-D exact p_g: noise quantile grid points pushed through G", ge=1000)
    x_bins: int = _f(20_000, "1-D exact p_g: bins of the x grid the JSD is summed over", ge=100)
    kde_bandwidth: float = _f(
        0.5,
        "density JSD without exact p_g: Gaussian kernel width as a fraction of the target's smallest component std",
        gt=0.0,
        le=2.0,
    )
    w1_samples: int = _f(
        1000,
        "samples per side of each exact optimal-transport W1 in 2-D (cost grows as n^3: at most 10,000)",
        gt=1,
        le=10_000,
    )


@dataclass(frozen=True)
class ModesEvalConfig:
    """Mode metrics of the toy mixtures (modes_captured, high_quality, reverse_kl)."""

    generated_samples: int = _f(2500, "generated samples assigned to modes (VEEGAN/PacGAN protocol: 2,500)", gt=0)
    quality_std: float = _f(
        3.0, "a sample is high quality within this many std (Mahalanobis) of its nearest mode", gt=0.0
    )


@dataclass(frozen=True)
class ParzenEvalConfig:
    """The paper's Parzen-window log-likelihood (parzen_ll) on image data."""

    kernels: int | None = _f(
        None, "generated samples used as Parzen kernels; null = eval.generated_samples (paper: 10,000)", gt=0
    )
    valid_examples: int = _f(1000, "first validation images that choose the Parzen sigma (paper: 1,000)", gt=0)


@dataclass(frozen=True)
class MemorisationEvalConfig:
    """The nearest-training-neighbour check (nn_distance_ratio) on image data."""

    samples: int = _f(
        1000, "generated samples, and as many held-out images, matched to their nearest training image", gt=1
    )


@dataclass(frozen=True)
class FeaturesEvalConfig:
    """Metrics in a feature space: a CNN trained on the labelled data, and Inception's."""

    enabled: bool = _f(
        True,
        (
            "labelled image data (mnist, fashion-mnist, digits, stacked-mnist): FID, KID, precision/recall, "
            "density/coverage and classes covered in the features of a small CNN classifier (eval.features.network)"
        ),
    )
    network: Literal["reference", "local"] = _f(
        "reference",
        (
            "the feature network: reference = the one shipped with gan-cli for the dataset (mnist, stacked-mnist, "
            "digits; hash-pinned, so FIDs compare across machines); local = one trained on this machine's training "
            "split and cached in data.root/gan-cli-features or ~/.cache/gan-cli (`gan eval features` trains it; its "
            "FIDs compare only with its own). Datasets with no shipped network use a local one"
        ),
    )
    fid_bootstrap: int = _f(20, "FID: bootstrap resamples of each side for its s.e. (0 = no s.e.)", ge=0)
    kid_subset_size: int = _f(
        1000,
        (
            "KID: rows per disjoint subset and side (Binkowski et al.: 1,000; halved down to n/2 for small n); mean +- "
            "s.e. over the subsets"
        ),
        gt=1,
    )
    inception: bool = _f(
        False,
        (
            "3-channel images: also torch-fidelity's Inception FID and KID (comparable with the literature; its weights"
            " download once; offline: one line, skipped)"
        ),
    )


@dataclass(frozen=True)
class StackedEvalConfig:
    """Stacked MNIST's mode metrics (modes covered of 1,000, KL to uniform)."""

    generated_samples: int = _f(26_000, "generated samples classified per channel (VEEGAN/PacGAN: 26,000)", gt=0)


@dataclass(frozen=True)
class EvalConfig:
    """Defaults of `gan eval`: the general settings, then one section per estimator."""

    split: Literal["valid", "test"] = _f("test", "held-out split evaluated")
    generated_samples: int = _f(
        10_000,
        "generated samples per metric (Parzen kernels, critic data); `gan eval --num-samples` overrides it",
        gt=0,
    )
    seed: int = _f(0, "seed of the evaluation's noise and critics", ge=0)
    critic: CriticEvalConfig = _f(doc="fresh-critic JSD bound", factory=CriticEvalConfig)
    density: DensityEvalConfig = _f(doc="toy density metrics", factory=DensityEvalConfig)
    modes: ModesEvalConfig = _f(doc="toy mode metrics", factory=ModesEvalConfig)
    parzen: ParzenEvalConfig = _f(doc="Parzen log-likelihood", factory=ParzenEvalConfig)
    memorisation: MemorisationEvalConfig = _f(doc="nearest-training-neighbour check", factory=MemorisationEvalConfig)
    features: FeaturesEvalConfig = _f(doc="feature-space metrics (FID, KID, ...)", factory=FeaturesEvalConfig)
    stacked: StackedEvalConfig = _f(doc="stacked-mnist mode metrics", factory=StackedEvalConfig)
