"""`gan eval` on labelled image data: FID, KID, precision/recall, density/coverage and the class
histogram of G's samples in the dataset's feature network, each with its calibration.

Samples: n from G, scored against the held-out split. Calibration ("real vs real"): the same metric
with n images the feature network did not train on (a random subset of the other held-out split:
validation when the held-out split is test; at most the whole split) in place of the samples,
against the same held-out images: what unseen data scores at this n, with this network. Its `pair`
names the split (the network's own training images score about 1 FID lower).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from rich.console import Console

from gan_cli import consoles, data, seeds
from gan_cli.config import Config
from gan_cli.evaluate import feature_cache, feature_calibration
from gan_cli.evaluate.feature_scores import score_images
from gan_cli.evaluate.inception import inception_metrics
from gan_cli.evaluate.stacked import stacked_metrics
from gan_cli.sample import Loaded, generate


def check_network(cfg: Config, ds: data.Dataset, console: Console | None = None) -> None:
    """Load (or train) the feature network the section will use before anything is measured, so a
    damaged or unwritable cache fails first, not after minutes of evaluation."""
    ev = cfg.eval.features
    if not ev.enabled or not data.has_labels(cfg):
        return
    console = console or consoles.plain(stderr=True)
    if cfg.data.name == "stacked-mnist":  # each channel is scored by the MNIST network
        feature_cache.ensure(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, name="mnist")), None, console)
    elif cfg.data.name in data.LABELLED:
        feature_cache.ensure(cfg, ds, console)


def feature_metrics(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, split: str, seed: int, console: Console | None = None
) -> dict[str, Any]:
    """The section's eval.json metrics: the feature network's (labelled data, eval.features) and
    Inception's (3-channel data, eval.inception); {} when neither applies. `seed`: the evaluation's."""
    cfg, ev = loaded.cfg, loaded.cfg.eval
    console = console or consoles.plain(stderr=True)
    out: dict[str, Any] = {}
    if (
        ev.features.enabled
        and (cfg.data.name in data.LABELLED or cfg.data.name == "stacked-mnist")
        and not data.has_labels(cfg)
    ):
        console.print(
            f"eval.features: skipped, no label files ({', '.join(data.LABEL_STEMS)}) under data.root={cfg.data.root}: place them beside "
            "the images for FID, KID, precision/recall and class coverage, or set eval.features.enabled: false",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    elif ev.features.enabled and cfg.data.name == "stacked-mnist":
        out.update(stacked_metrics(loaded, ds, held, n, split, seed, console))
    elif ev.features.enabled and cfg.data.name in data.LABELLED:
        out.update(_labelled(loaded, ds, held, n, split, seed, console))
    if ev.features.inception:
        out.update(inception_metrics(loaded, ds, held, n, split, seed, console))
    return out


def _labelled(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, split: str, seed: int, console: Console
) -> dict[str, Any]:
    net = feature_cache.ensure(loaded.cfg, ds, console)
    cal_split, real_part = feature_calibration.calibration_images(ds, split, n, seed)
    pair = feature_calibration.calibration_pair(loaded.cfg, net, cal_split, len(real_part), split, len(held))
    fake = generate(loaded.G, loaded.cfg, n, seeds.derive(seed, seeds.EVAL_FEATURES_NOISE), loaded.device)
    return score_images(
        net,
        ds.to_unit(fake),
        ds.to_unit(held),
        ds.to_unit(real_part),
        split,
        loaded.cfg.eval,
        seed,
        loaded.device,
        pair,
    )
