"""Figures 2 and 3 of the paper as `gan sample --nearest` and `gan sample --interpolate`.

Figure 2: rows of samples whose rightmost column is the nearest training example (Euclidean
distance in pixel space) of the sample beside it, outlined in yellow, to show G has not memorised
the training set. Figure 3: each row decodes the linear interpolation between two random z.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan_cli import data, models
from gan_cli.config import Config
from gan_cli.errors import GanError
from gan_cli.evaluate import distances
from gan_cli.figures.files import save_image
from gan_cli.figures.samples import image_grid
from gan_cli.sample import generate

YELLOW = (255, 215, 0)
PAD = 2  # pixels between tiles, image_grid's default


def interpolation_noise(rows: int, cols: int, cfg: Config, seed: int) -> torch.Tensor:
    """rows*cols noise vectors: row r runs linearly from z_a to z_b (both ends included)."""
    gen = torch.Generator().manual_seed(seed)
    c = cfg.noise
    ends = models.sample_noise(2 * rows, c.dim, c.prior, c.scale, torch.device("cpu"), gen).view(rows, 2, c.dim)
    t = torch.linspace(0.0, 1.0, cols)[None, :, None]
    return (ends[:, :1] * (1 - t) + ends[:, 1:] * t).reshape(rows * cols, c.dim)


def _check_images(info: dict, what: str) -> tuple[int, int, int]:
    if not info.get("image_shape"):
        raise GanError(f"--{what} needs a checkpoint trained on images (mnist, digits, ...); this one is toy data")
    return tuple(info["image_shape"])


def _upscale(im: Image.Image, shape: tuple[int, int, int]) -> Image.Image:
    scale = 4 if shape[1] < 16 else 2  # small PNGs, still legible
    return im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)


def save_nearest_figure(
    G: models.Generator, cfg: Config, info: dict, n: int, cols: int, seed: int, device: torch.device, out: Path
) -> Path:
    """Figure 2: ceil(n / cols) rows of cols - 1 samples plus the nearest training example of the last."""
    shape = _check_images(info, "nearest")
    if cols < 2:
        raise GanError("--cols: --nearest needs at least 2 columns (samples, then the nearest training example)")
    rows = max(1, math.ceil(n / cols))
    samples = generate(G, cfg, rows * (cols - 1), seed, device).view(rows, cols - 1, -1)
    train = data.load(cfg).train
    idx = distances.nearest(samples[:, -1], train)[1]
    tiles = torch.cat([samples, train[idx].float()[:, None]], dim=1).reshape(rows * cols, -1)
    vr = tuple(info.get("value_range") or (0.0, 1.0))
    arr = image_grid(tiles, shape, vr, nrow=cols, pad=PAD)
    rgb = np.stack([arr] * 3, axis=-1) if arr.ndim == 2 else arr.copy()
    h, w = shape[1], shape[2]
    x0 = PAD + (cols - 1) * (w + PAD)
    for r in range(rows):
        y0 = PAD + r * (h + PAD)
        rgb[y0 - 1 : y0 + h + 1, x0 - 1] = YELLOW
        rgb[y0 - 1 : y0 + h + 1, x0 + w] = YELLOW
        rgb[y0 - 1, x0 - 1 : x0 + w + 1] = YELLOW
        rgb[y0 + h, x0 - 1 : x0 + w + 1] = YELLOW
    return save_image(_upscale(Image.fromarray(rgb), shape), out)


def save_interpolation_figure(
    G: torch.nn.Module, cfg: Config, info: dict, n: int, cols: int, seed: int, device: torch.device, out: Path
) -> Path:
    """Figure 3: ceil(n / cols) rows, each G along a straight line between two random z."""
    shape = _check_images(info, "interpolate")
    if cols < 2:
        raise GanError("--cols: --interpolate needs at least 2 columns (the two endpoints)")
    rows = max(1, math.ceil(n / cols))
    z = interpolation_noise(rows, cols, cfg, seed).to(device)
    with models.eval_mode(G):
        x = G(z).float().cpu()
    vr = tuple(info.get("value_range") or (0.0, 1.0))
    arr = image_grid(x, shape, vr, nrow=cols, pad=PAD)
    return save_image(_upscale(Image.fromarray(arr), shape), out)
