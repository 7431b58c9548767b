"""Train, valid and test splits cut from a dataset's pool by the config's [start, end) ranges, and
the check that they resemble each other.

A user's own data (npz, folder) is cut after a seeded shuffle (`data.shuffle`, `data.split_seed`):
its files are often sorted by class, and cut in file order they would give a test split of one
class. The other datasets keep their official, documented ranges. A split whose labels or mean
image differ grossly from the training split's is reported with one warning line.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from gan_cli import seeds
from gan_cli.config import DataConfig
from gan_cli.data.dataset import SPLIT_NAMES
from gan_cli.errors import GanError

# default [start, end) ranges inside each dataset's training pool; test is official where it exists
DEFAULT_RANGES: dict[str, dict[str, list[int]]] = {
    "mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
    "fashion-mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
    "cifar10": {"train": [0, 40_000], "valid": [40_000, 50_000]},
    "digits": {"train": [0, 1_400], "valid": [1_400, 1_600], "test": [1_600, 1_797]},
    "stacked-mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
}
POOL_FRACTIONS = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}
SHUFFLED = ("npz", "folder")
"""The datasets whose pool is shuffled before it is cut (when data.shuffle is true)."""

GROSS_LABEL_DISTANCE = 0.25
"""Total variation between a split's class shares and training's above which the labels differ grossly."""
GROSS_MEAN_DISTANCE = 0.25
"""RMS over pixels of (split's mean - training's mean) / pixel std above which the mean image differs grossly."""
CHANCE_FACTOR = 4.0
"""The mean image's distance must also exceed this many times what a random split of its size gives."""
LABEL_CHANCE_FACTOR = 1.5
"""The labels' distance must also exceed this times sqrt(classes / split size) (a random split's is
about 0.4 of that)."""


def pool_order(cfg: DataConfig, n: int) -> np.ndarray | None:
    """The permutation of the pool's `n` examples that the splits are cut from; None: file order."""
    if cfg.name not in SHUFFLED or not cfg.shuffle:
        return None
    return np.random.default_rng(seeds.derive(cfg.split_seed, seeds.DATA_SPLIT)).permutation(n)


def take(pool: np.ndarray, rng: list[int], key: str) -> np.ndarray:
    start, end = rng
    if end > len(pool):
        raise GanError(f"data.{key}_range: [{start}, {end}) reaches past the {len(pool)} examples available")
    return pool[start:end]


def split_pool(cfg: DataConfig, pool: np.ndarray, test: np.ndarray | None) -> dict[str, np.ndarray]:
    """The train, valid and test parts of `pool` (and the official `test` where there is one).
    Images and their labels are cut alike: the shuffle depends only on the config and the pool's size."""
    order = pool_order(cfg, len(pool))
    if order is not None:
        pool = pool[order]
    defaults = DEFAULT_RANGES.get(cfg.name, {})
    out: dict[str, np.ndarray] = {}
    for key in SPLIT_NAMES:
        if key == "test" and test is not None and cfg.test_range is None:
            out[key] = test
            continue
        rng = getattr(cfg, f"{key}_range") or defaults.get(key)
        if rng is None:
            lo, hi = POOL_FRACTIONS[key]
            rng = [int(lo * len(pool)), int(hi * len(pool))]
        out[key] = take(pool, rng, key)
        if len(out[key]) == 0:
            raise GanError(f"data.{key}_range: the {key} split of {cfg.name} is empty")
    return out


def to_float(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.array(images))  # a writable copy (IDX arrays are read-only buffers)
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x.float()


# ---------------------------------------------------------------- do the splits resemble training?


def label_distance(train: np.ndarray, split: np.ndarray) -> tuple[float, list[int]]:
    """(total variation between the class shares of `split` and `train`, training's classes absent from `split`)."""
    classes = np.union1d(train, split)
    p = np.array([(train == c).mean() for c in classes])
    q = np.array([(split == c).mean() for c in classes])
    absent = [int(c) for c in np.unique(train) if not (split == c).any()]
    return 0.5 * float(np.abs(p - q).sum()), absent


def mean_distance(train: torch.Tensor, split: torch.Tensor) -> float:
    """RMS over pixels of the difference of the two mean images, in units of each pixel's std over
    both (pixels that never vary are left out); about sqrt(1/n_split + 1/n_train) for a random split."""
    a, b = train.reshape(len(train), -1).double(), split.reshape(len(split), -1).double()
    std = torch.cat([a, b]).std(dim=0)
    varies = std > 1e-8
    if not bool(varies.any()):
        return 0.0
    z = (b.mean(dim=0) - a.mean(dim=0))[varies] / std[varies]
    return float(z.square().mean().sqrt())


def split_differences(
    cfg: DataConfig, splits: dict[str, torch.Tensor], labels: dict[str, np.ndarray] | None
) -> list[str]:
    """One line per held-out split whose labels (where there are any) or mean image differ grossly
    from the training split's: far beyond GROSS_* and beyond what chance gives a split of its size."""
    lines = []
    n_train = len(splits["train"])
    for name in ("valid", "test"):
        n = len(splits[name])
        chance = CHANCE_FACTOR * math.sqrt(1 / n + 1 / n_train)
        found = []
        if labels is not None:
            classes = len(np.unique(labels["train"]))
            tv, absent = label_distance(labels["train"], labels[name])
            if tv > max(GROSS_LABEL_DISTANCE, LABEL_CHANCE_FACTOR * math.sqrt(classes / n)):
                missing = f"; training's classes {_listed(absent)} are absent" if absent else ""
                found.append(f"its class shares are {tv:.2f} apart from training's (total variation){missing}")
        dist = mean_distance(splits["train"], splits[name])
        if dist > max(GROSS_MEAN_DISTANCE, chance):
            found.append(
                f"its mean image is {dist:.2f} pixel stds from training's (RMS; by chance about {chance / CHANCE_FACTOR:.2f})"
            )
        if found:
            why = (
                "its examples are cut in file order (data.shuffle: false), and a file sorted by class gives sorted splits: set data.shuffle: true"
                if not (cfg.name in SHUFFLED and cfg.shuffle)
                else f"the splits are a seeded shuffle (data.split_seed {cfg.split_seed}): look at the data in {cfg.path}"
            )
            lines.append(
                f"warning: data: the {name} split ({n:,} examples) differs grossly from the training split: "
                f"{'; '.join(found)}; {why}"
            )
    return lines


def _listed(values: list[int], most: int = 8) -> str:
    shown = ", ".join(map(str, values[:most]))
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


_warned: set[str] = set()


def warn(lines: list[str]) -> None:
    """Print each line on stderr, once per process (an evaluation loads the data once per checkpoint)."""
    for line in lines:
        if line not in _warned:
            _warned.add(line)
            print(line, file=sys.stderr, flush=True)
