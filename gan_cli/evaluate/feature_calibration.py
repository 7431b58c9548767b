"""The real-vs-real calibration of the feature metrics: which images the feature network never
trained on, and the words that name the pair in eval.json and the table."""

from __future__ import annotations

import torch

from gan_cli import data, seeds
from gan_cli.config import Config
from gan_cli.data.splits import DEFAULT_RANGES
from gan_cli.evaluate.feature_cache import FeatureNet

SPLIT_WORDS = {"train": "training", "valid": "validation", "test": "test"}


def unseen_split(split: str) -> str:
    """The split that calibrates a held-out `split`: images neither the feature network (trained on
    the training split) nor the held-out split hold: valid for test, test for valid."""
    return "valid" if split == "test" else "test"


def calibration_images(ds: data.Dataset, split: str, n: int, seed: int) -> tuple[str, torch.Tensor]:
    """(the calibration's split, its images): at most `n` images of unseen_split(split), in the order
    of the evaluation `seed`'s own permutation. The order does not move FID, precision/recall or
    density/coverage, but KID's subsets and the bootstrap s.e. follow it, so whatever prints gan
    eval's calibration row draws its images here."""
    cal_split = unseen_split(split)
    pool = ds.split(cal_split)
    gen = torch.Generator().manual_seed(seeds.derive(seed, seeds.EVAL_FEATURES_TRAIN))
    return cal_split, pool[torch.randperm(len(pool), generator=gen)[: min(n, len(pool))]]


def _pool_range(cfg: Config, split: str) -> tuple[int, int] | None:
    """[start, end) of `split` in the dataset's training pool; None for an official test file."""
    d = cfg.data
    rng = getattr(d, f"{split}_range")
    if rng is None and split == "test" and d.name in ("mnist", "fashion-mnist", "stacked-mnist"):
        return None
    rng = rng or DEFAULT_RANGES.get(d.name, {}).get(split)
    return (int(rng[0]), int(rng[1])) if rng else None


def calibration_pair(cfg: Config, net: FeatureNet, cal_split: str, m: int, held_split: str, n_held: int) -> str:
    """The calibration row's `pair`: which images, whether the feature network saw them, against what."""
    what = f"{m:,} {SPLIT_WORDS[cal_split]} images"
    if cfg.data.name == "stacked-mnist" and cal_split != "test":
        seen = "stacks of digits drawn from the whole MNIST training file, which the network partly trained on"
    else:
        trained = net.info.get("train_range") or _pool_range(cfg, "train")
        cal = _pool_range(cfg, cal_split)
        overlap = 0 if cal is None or trained is None else max(0, min(cal[1], trained[1]) - max(cal[0], trained[0]))
        seen = (
            "never seen by the feature network"
            if overlap == 0
            else f"the feature network trained on {overlap:,} images of their range"
        )
    return f"{what} ({seen}) vs the {n_held:,} {held_split} images"
