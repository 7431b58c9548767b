"""The feature metrics of generated images against held-out ones, each beside its calibration (the
same metric with real images in place of the samples: feature_section passes images the feature
network did not train on, and the `pair` text that names them): FID, KID, precision/recall,
density/coverage and the class histogram, as eval.json records."""

from __future__ import annotations

from typing import Any

import torch

from gan_cli import seeds
from gan_cli.evaluate import feature_cache
from gan_cli.evaluate import feature_metrics as fm
from gan_cli.evaluate.feature_net import extract
from gan_cli.evaluate.report import metric


def _scores(
    held: tuple[torch.Tensor, torch.Tensor],
    held_knn: torch.Tensor,
    other: tuple[torch.Tensor, torch.Tensor],
    classes: Any,
    ev: Any,
    seed: int,
    side: int,
) -> dict[str, dict[str, Any]]:
    """Every feature metric of `other` (features, labels) against the held-out (features, labels);
    `side` (0: G's samples, 1: the calibration) picks the members of the evaluation `seed`'s streams."""
    (hf, _), (of, ol) = held, other
    f = fm.fid_interval(hf, of, ev.features.fid_bootstrap, seeds.derive(seed, seeds.EVAL_FID_BOOTSTRAP, side))
    k = fm.kid(hf, of, ev.features.kid_subset_size, seeds.derive(seed, seeds.EVAL_KID_SUBSETS, side))
    balls = fm.prdc(hf, of, real_knn=held_knn)
    ch = fm.class_histogram(ol, classes, seed=seeds.derive(seed, seeds.EVAL_CLASS_BOOTSTRAP, side))
    return {
        "fid": f,
        "kid": k,
        **{name: balls[name] for name in ("precision", "recall", "density", "coverage")},
        "classes_covered": {
            "value": ch["covered"],
            "stderr": None,
            "n": ch["n"],
            "counts": ch["counts"],
            "seen": ch["seen"],
        },
        "class_kl": {"value": ch["kl"], "stderr": ch["kl_stderr"], "n": ch["n"]},
    }


def _calibration(r: dict[str, Any], pair: str) -> dict[str, Any]:
    extra = {"interval": r["interval"]} if "interval" in r else {}
    return {"value": r["value"], "stderr": r.get("stderr"), "n": r["n"], **extra, "pair": pair}


def score_images(
    net: feature_cache.FeatureNet,
    fake: torch.Tensor,
    held: torch.Tensor,
    real_part: torch.Tensor,
    split: str,
    ev: Any,
    seed: int,
    device: torch.device | str = "cpu",
    pair: str | None = None,
) -> dict[str, Any]:
    """The metric records of `fake` against `held`, with `real_part` in place of `fake` as the
    calibration; all three are images in [0, 1]. `ev` supplies fid_bootstrap and kid_subset_size;
    the bootstraps and KID's subsets draw from streams of the evaluation `seed`. `pair` names the
    calibration's images (default: "M training images vs the N SPLIT images")."""
    held_fl, fake_fl, real_fl = (extract(net.model, x, device=device) for x in (held, fake, real_part))
    return score_features(net, fake_fl, held_fl, real_fl, split, ev, seed, pair)


Features = tuple[torch.Tensor, torch.Tensor]  # (features (n, d) float64, predicted labels (n,))


def score_features(
    net: feature_cache.FeatureNet,
    fake_fl: Features,
    held_fl: Features,
    real_fl: Features,
    split: str,
    ev: Any,
    seed: int,
    pair: str | None = None,
) -> dict[str, Any]:
    """score_images on features already extracted by `net`."""
    m, held = len(real_fl[0]), held_fl[0]
    classes = net.train_class_counts
    held_knn = fm.knn_sq(held_fl[0], max(fm.PR_K, fm.DC_K))  # shared by the samples and the calibration
    model = _scores(held_fl, held_knn, fake_fl, classes, ev, seed, 0)
    calib = _scores(held_fl, held_knn, real_fl, classes, ev, seed, 1)
    pair = pair or f"{m:,} training images vs the {len(held):,} {split} images"
    tag = net.label
    kid_shape = {key: model["kid"][key] for key in ("subsets", "subset_size")}
    common = {
        "split": split,
        "feature_net": net.record(),
    }
    # the k-NN ball metrics of Kynkaanniemi et al. 2019 (precision, recall) and Naeem et al. 2020 (density, coverage)
    ball_k = {"precision": fm.PR_K, "recall": fm.PR_K, "density": fm.DC_K, "coverage": fm.DC_K}
    ball_text = {
        "precision": f"fraction of samples inside some held-out image's {fm.PR_K}-NN ball in {tag} features (Kynkaanniemi et al. 2019); binomial s.e.",
        "recall": f"fraction of held-out images inside some sample's {fm.PR_K}-NN ball in {tag} features (Kynkaanniemi et al. 2019); binomial s.e.",
        "density": f"mean over samples of (held-out {fm.DC_K}-NN balls containing it) / {fm.DC_K} in {tag} features (Naeem et al. 2020; 1 for data); s.e. over the samples",
        "coverage": f"fraction of held-out images whose {fm.DC_K}-NN ball in {tag} features holds a sample (Naeem et al. 2020); binomial s.e.",
    }
    specs = {
        "fid": (
            f"FID ({tag})",
            f"Frechet distance of Gaussians fitted (float64) to {tag} features of the {split} images and of G's samples; bootstrap s.e. over {ev.features.fid_bootstrap} resamples of each side; biased up at small n, so compare at equal n",
            {"caveat": net.describe()},
        ),
        "kid": (
            f"KID ({tag})",
            f"unbiased MMD^2 with the kernel (x.y / d + 1)^3 in {tag} features, mean +- s.e. over {kid_shape['subsets']} disjoint subsets of {kid_shape['subset_size']:,} per side",
            kid_shape,
        ),
        **{name: (f"{name}, k = {k}", ball_text[name], {"k": k}) for name, k in ball_k.items()},
        "classes_covered": (
            f"classes covered (of {len(classes)})",
            f"classes to which {tag} assigns at least {100 * fm.COVERED_SHARE:g} % of their training frequency of the samples (rare misclassifications do not cover a dropped class; 'seen' counts classes with any sample)",
            {"counts": model["classes_covered"]["counts"], "seen": model["classes_covered"]["seen"]},
        ),
        "class_kl": (
            "KL(class histogram || train)",
            f"KL(histogram of {tag}'s labels of the samples || training class frequencies), nats; bootstrap s.e.",
            {},
        ),
    }
    out = {}
    for name, (label, estimator, extra) in specs.items():
        r = model[name]
        details = {key: r[key] for key in ("interval",) if key in r}
        out[name] = metric(
            r["value"],
            r["stderr"],
            r["n"],
            estimator,
            label,
            **common,
            **details,
            **extra,
            calibration=_calibration(calib[name], pair),
        )
    return out
