"""`load`: the dataset a config names, as float tensors on the CPU, scaled to G's output range."""

from __future__ import annotations

import numpy as np
import torch

from gan_cli import devices, seeds, toy
from gan_cli.config import TOY_DATASETS, Config
from gan_cli.data.dataset import Dataset
from gan_cli.data.idx import IDX_FILES, load_idx_dataset, load_stacked_mnist
from gan_cli.data.sources import load_cifar10, load_digits, load_folder, load_npz
from gan_cli.data.splits import SHUFFLED, split_differences, split_pool, to_float, warn
from gan_cli.errors import GanError

IMAGE_DIMS = {"mnist": 784, "fashion-mnist": 784, "stacked-mnist": 3 * 784, "cifar10": 3 * 32 * 32, "digits": 64}


def known_dim(cfg: Config) -> int | None:
    """Values per example, known from the config alone (None for npz and folder data, known once loaded)."""
    d = cfg.data
    if d.name in TOY_DATASETS:
        return int(toy.from_config(d).means.shape[1])
    return IMAGE_DIMS.get(d.name)


def _check_unit_range(cfg: Config, pool: np.ndarray) -> None:
    """GanError when an npz array's values leave [0, 1] and G's output is bounded: a sigmoid G
    (or a tanh one, whose data are scaled from [0, 1] to [-1, 1]) cannot reach them, and the run
    would train to the end without a sign of it (16-bit images, 0..255 floats)."""
    activation = cfg.generator.output_activation
    if activation not in ("sigmoid", "tanh"):
        return
    low, high = float(pool.min()), float(pool.max())
    if low < 0.0 or high > 1.0:
        raise GanError(
            f"data.path: array 'x' in {cfg.data.path} holds values from {low:,.6g} to {high:,.6g}, outside [0, 1], "
            f"which generator.output_activation: {activation} needs (tanh's [-1, 1] is made from it); divide them "
            f"by their largest possible value (uint8 is divided by 255 for you), or set "
            f"generator.output_activation: linear"
        )


def load(cfg: Config) -> Dataset:
    """Load the dataset named by cfg.data (on the CPU); raise GanError naming what to fix."""
    d = cfg.data
    if d.name in TOY_DATASETS:
        target = toy.from_config(d)
        rows = d.train_size + 2 * d.held_out_size
        # each row is drawn in float64 (its component, its noise, its mean) before it is stored as float32
        devices.check_host_memory(
            rows * (28 * target.dim + 16),
            f"data.train_size {d.train_size:,} and data.held_out_size {d.held_out_size:,}",
        )
        gens = {
            split: torch.Generator().manual_seed(seeds.run_seed(cfg.seed, cfg.seed_scheme, stream))
            for split, stream in seeds.TOY_DATA_STREAMS.items()
        }
        return Dataset(
            d.name,
            train=target.sample(d.train_size, gens["train"]),
            valid=target.sample(d.held_out_size, gens["valid"]),
            test=target.sample(d.held_out_size, gens["test"]),
            image_shape=None,
            value_range=None,
            target=target,
        )
    labels: np.ndarray | None = None  # class labels of the user's own data, where it has them
    if d.name in IDX_FILES:
        pool, test = load_idx_dataset(d)
    elif d.name == "stacked-mnist":
        pool, test = load_stacked_mnist(d)
    elif d.name == "cifar10":
        pool, test = load_cifar10(d)
    elif d.name == "digits":
        pool, test = load_digits(), None
    elif d.name == "npz":
        (pool, labels), test = load_npz(d), None
        _check_unit_range(cfg, pool)
    elif d.name == "folder":
        (pool, labels), test = load_folder(d), None
    else:  # pragma: no cover - the config's Literal rules this out
        raise GanError(f"data.name: unknown dataset {d.name!r}")
    splits = {k: to_float(v) for k, v in split_pool(d, pool, test).items()}
    if d.name in SHUFFLED:  # the user's own data: say when a split looks unlike the training split
        warn(split_differences(d, splits, None if labels is None else split_pool(d, labels, None)))
    shape = tuple(splits["train"].shape[1:])
    low, high = (0.0, 1.0)
    if cfg.generator.output_activation == "tanh":
        splits = {k: v * 2.0 - 1.0 for k, v in splits.items()}
        low, high = -1.0, 1.0
    flat = {k: v.reshape(len(v), -1).contiguous() for k, v in splits.items()}
    return Dataset(
        d.name, flat["train"], flat["valid"], flat["test"], shape if len(shape) == 3 else None, (low, high), None
    )
