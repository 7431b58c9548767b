"""Train, valid and test splits cut from a dataset's pool by the config's [start, end) ranges."""

from __future__ import annotations

import numpy as np
import torch

from gan_cli.config import DataConfig
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


def take(pool: np.ndarray, rng: list[int], key: str) -> np.ndarray:
    start, end = rng
    if end > len(pool):
        raise GanError(f"data.{key}_range: [{start}, {end}) reaches past the {len(pool)} examples available")
    return pool[start:end]


def split_pool(cfg: DataConfig, pool: np.ndarray, test: np.ndarray | None) -> dict[str, np.ndarray]:
    defaults = DEFAULT_RANGES.get(cfg.name, {})
    out: dict[str, np.ndarray] = {}
    for key in ("train", "valid", "test"):
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
