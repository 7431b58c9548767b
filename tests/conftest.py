"""Fixtures only (shared helper functions live in tests/helpers.py): tiny IDX files, one torch thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import write_idx

torch.set_num_threads(1)


@pytest.fixture
def tiny_mnist_root(tmp_path: Path) -> Path:
    """ROOT/MNIST/raw with 120 training and 30 test 28x28 images (gzipped, like the real files)."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (120, 28, 28)), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)), gz=True)
    write_idx(raw / "train-labels-idx1-ubyte", rng.integers(0, 10, (120,)), gz=True)
    return tmp_path / "mnist"
