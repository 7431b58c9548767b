"""Shared fixtures: tiny configs and tiny IDX files, so no test needs a download or ../shared."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

torch.set_num_threads(1)


def tiny_toy_config(**sections: Any) -> dict[str, Any]:
    """A 1-D Gaussian experiment small enough to train in well under a second."""
    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "device": "cpu",
        "data": {"name": "gaussian", "mean": 1.0, "std": 0.5, "num_samples": 256, "eval_samples": 128},
        "noise": {"dim": 2, "prior": "uniform", "scale": 1.0},
        "generator": {"hidden": [{"units": 8, "activation": "relu"}], "output_activation": "linear"},
        "discriminator": {"hidden": [{"units": 8, "activation": "maxout", "pieces": 2, "dropout": 0.1}], "output_dropout": 0.1},
        "train": {"batch_size": 32, "steps": 12, "optimizer": {"name": "adam", "lr": 0.001}},
        "log": {"every": 4, "samples_every": 6, "checkpoint_every": 6, "keep": 1, "num_samples": 16},
    }
    return merge_sections(cfg, sections)


def merge_sections(cfg: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """Override `cfg`'s sections one level deep (a dict merges into a section, anything else replaces)."""
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write a uint8 array in the IDX layout (big-endian header), optionally gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def tiny_mnist_root(tmp_path: Path) -> Path:
    """ROOT/MNIST/raw with 120 training and 30 test 28x28 images (gzipped, like the real files)."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (120, 28, 28)), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)), gz=True)
    write_idx(raw / "train-labels-idx1-ubyte", rng.integers(0, 10, (120,)), gz=True)
    return tmp_path / "mnist"
