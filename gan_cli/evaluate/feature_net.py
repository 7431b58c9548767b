"""The feature network of an image dataset: a small CNN classifier trained on its labelled split.

FID, KID, precision/recall and density/coverage are computed in its penultimate features (128
values after a ReLU) and the class histogram from its labels (evaluation.md, "Images, offline").
Numbers in these features compare only with numbers from the same weights (see feature_cache).

Architecture, for C x H x W images in [0, 1]: two blocks of conv 3x3 (padding 1) -> batch norm ->
ReLU -> max-pool 2, then a linear layer to 128 features (ReLU), then a linear layer to the class
logits. Trained with Adam and a one-cycle learning-rate schedule, random shifts of up to
H // 14 pixels as augmentation.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FEATURE_DIM = 128
ARCH = "cnn-v1"  # bump when DigitCNN's layers change: cached weights of another arch are refused


class DigitCNN(nn.Module):
    """conv-bn-relu-pool x 2 -> linear 128 (features) -> linear `classes` (logits)."""

    def __init__(self, shape: tuple[int, int, int], classes: int = 10, widths: tuple[int, int] = (16, 32)) -> None:
        super().__init__()
        c, h, w = shape
        if h < 4 or w < 4:
            raise ValueError(f"images of {h}x{w} pixels are too small for two 2x2 poolings")
        self.shape = (c, h, w)
        self.blocks = nn.Sequential(
            nn.Conv2d(c, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(widths[0], widths[1], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[1]),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(widths[1] * (h // 4) * (w // 4), FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (n, 128) of images x in [0, 1], any shape that reshapes to (n, C, H, W)."""
        x = x.reshape(len(x), *self.shape)
        return self.embed(self.blocks(x * 2.0 - 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass(frozen=True)
class TrainSettings:
    """How the classifier is trained; `steps` are Adam updates of `batch_size` images."""

    steps: int = 1200
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0


def shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random (dy, dx) in [-max_shift, max_shift] pixels, zero-filled."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]  # (n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]  # (n, 1, 1, w)
    idx = torch.arange(n)[:, None, None, None]
    return padded[idx, torch.arange(x.shape[1])[None, :, None, None], rows, cols]


@torch.no_grad()
def accuracy(model: DigitCNN, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Fraction of x classified as y (eval mode)."""
    was = model.training
    model.eval()
    right = sum(int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch))
    model.train(was)
    return right / max(len(x), 1)


def train_classifier(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    shape: tuple[int, int, int],
    classes: int,
    settings: TrainSettings,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[DigitCNN, float]:
    """Train a DigitCNN on images in [0, 1] (rows or (n, C, H, W)) and labels; returns it in eval
    mode and the training time in seconds. `progress(step, loss)` is called after every update."""
    start = time.perf_counter()  # setup included (the first call initialises torch's kernels: about 1.5 s)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        gen = torch.Generator().manual_seed(settings.seed)
        model = DigitCNN(shape, classes)
        opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=settings.steps)
        images = train_x.reshape(len(train_x), *shape)
        batch = min(settings.batch_size, len(images))
        max_shift = shape[1] // 14
        model.train()
        perm, pos = torch.randperm(len(images), generator=gen), 0
        for step in range(1, settings.steps + 1):
            if pos + batch > len(perm):
                perm, pos = torch.randperm(len(images), generator=gen), 0
            idx = perm[pos : pos + batch]
            pos += batch
            loss = F.cross_entropy(model(shift(images[idx], max_shift, gen)), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if progress is not None:
                progress(step, loss.item())
        model.eval()
        return model, time.perf_counter() - start


@torch.no_grad()
def extract(
    model: DigitCNN, images: torch.Tensor, batch: int = 256, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features float64 (n, 128), predicted labels int64 (n,)) of images in [0, 1], on the CPU."""
    model = model.to(device).eval()
    feats, labels = [], []
    for i in range(0, len(images), batch):
        f = model.features(images[i : i + batch].to(device=device, dtype=torch.float32))
        feats.append(f.double().cpu())
        labels.append(model.head(f).argmax(1).cpu())
    if not feats:
        return torch.zeros(0, FEATURE_DIM, dtype=torch.float64), torch.zeros(0, dtype=torch.int64)
    return torch.cat(feats), torch.cat(labels)


def weights_hash(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the state dict's names, dtypes, shapes and bytes, in key order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def data_hash(images: torch.Tensor, labels: torch.Tensor | np.ndarray) -> str:
    """sha256 of the images (float32 in [0, 1]) and labels (int64) a classifier saw, with their shapes."""
    x = images.detach().cpu().float().contiguous()
    y = np.ascontiguousarray(np.asarray(labels, dtype=np.int64))
    h = hashlib.sha256(f"{tuple(x.shape)}|{y.shape}|".encode())
    h.update(x.numpy().tobytes())
    h.update(y.tobytes())
    return h.hexdigest()


def default_steps(n_train: int, batch_size: int = 128) -> int:
    """20 passes over the training set, at least 300 and at most 1,200 updates (three MNIST epochs)."""
    return min(1200, max(300, math.ceil(20 * n_train / batch_size)))
