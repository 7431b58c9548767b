"""One dataset's splits as float tensors of flattened rows, and what the generator's init reads from them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_cli import toy
from gan_cli.errors import GanError

SPLIT_NAMES = ("train", "valid", "test")
"""A dataset's splits, in the order they are cut and recorded."""


@dataclass
class Dataset:
    """The splits of one dataset, flattened to rows of `dim` values."""

    name: str
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    image_shape: tuple[int, ...] | None  # (C, H, W) for images, None for toy vectors
    value_range: tuple[float, float] | None  # pixel range for images
    target: toy.GaussianMixture | None  # exact p_data for toy data

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @property
    def is_image(self) -> bool:
        return self.image_shape is not None

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Images `x` of this dataset's pixel range (value_range; [0, 1] when none) scaled to [0, 1],
        as float32: what the feature networks read."""
        low, high = self.value_range or (0.0, 1.0)
        return (x.float() - low) / (high - low)

    def split(self, name: str) -> torch.Tensor:
        if name == "train":
            return self.train
        if name == "valid":
            return self.valid
        if name == "test":
            return self.test
        raise GanError(f"unknown split {name!r}: use train, valid or test")


def output_bias_from_marginals(train: torch.Tensor) -> torch.Tensor:
    """logit(clip(mean training pixel, 1e-7, 1 - 1e-7)), the paper's init_bias_from_marginals."""
    p = train.double().mean(dim=0).clamp(1e-7, 1 - 1e-7)
    return torch.log(p / (1 - p)).float()
