"""`gan sample` and training's periodic pictures: image grids, the 1-D density picture, 2-D toy scatters.

`draw` picks the picture for a batch of samples: an image grid (image data), the 1-D panel of
figures.density1d (p_data, p_g, D, D*), or real data and G's samples over D's heat map (2-D).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from gan_cli import models, toy
from gan_cli.config import NoiseConfig
from gan_cli.errors import GanError
from gan_cli.evaluate import density
from gan_cli.figures.density1d import save_density_1d
from gan_cli.figures.files import save_figure, save_image
from gan_cli.sample import d_probability

PICTURE_Z_NODES = 100_000  # noise quantiles through G for a picture's exact p_g (gan eval uses eval.density.z_grid)


def image_grid(
    images: torch.Tensor,
    shape: tuple[int, ...],
    value_range: tuple[float, float],
    nrow: int | None = None,
    pad: int = 2,
) -> np.ndarray:
    """Rows of flattened images -> one uint8 HxWxC (or HxW) array, `nrow` images per row."""
    c, h, w = shape
    x = images.detach().float().cpu().reshape(-1, c, h, w)
    low, high = value_range
    x = ((x - low) / (high - low)).clamp(0, 1)
    n = len(x)
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[:, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return arr[:, :, 0] if c == 1 else arr


MAX_PICTURE_PIXELS = 100_000_000
"""The largest sample picture, in pixels: 100 megapixels (about 27,000 MNIST digits at 2x); more
is not a picture anyone reads, and its grid alone would need gigabytes."""
MAX_PLOTTED_POINTS = 1_000_000
"""The most samples one scatter or density picture draws."""


SAMPLE_FILE_ADVICE = "draw fewer, or write them to a .npy file"


def grid_scale(shape: tuple[int, ...]) -> int:
    """The nearest-neighbour upscale of a grid's images: about 32 pixels per image side at least."""
    return max(1, math.ceil(32 / max(shape[1], 1)))


def picture_pixels(n: int, shape: tuple[int, ...], pad: int = 2) -> int:
    """Pixels of the PNG grid of n images of `shape` (C, H, W) as save_image_grid draws it."""
    nrow = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    scale = grid_scale(shape)
    return (rows * (shape[1] + pad) + pad) * (nrow * (shape[2] + pad) + pad) * scale * scale


def check_picture_size(n: int, info: dict[str, Any], option: str, advice: str = SAMPLE_FILE_ADVICE) -> None:
    """GanError naming `option` when a picture of n samples would pass MAX_PICTURE_PIXELS (images)
    or MAX_PLOTTED_POINTS (points): checked before any sample is drawn. `advice` ends the message."""
    shape = info.get("image_shape")
    if not shape:
        if n > MAX_PLOTTED_POINTS:
            raise GanError(f"{option} {n:,}: a picture draws at most {MAX_PLOTTED_POINTS:,} samples; {advice}")
        return
    pixels = picture_pixels(n, tuple(shape))
    if pixels > MAX_PICTURE_PIXELS:
        most = n
        while most > 1 and picture_pixels(most, tuple(shape)) > MAX_PICTURE_PIXELS:
            most = most * 9 // 10
        raise GanError(
            f"{option} {n:,}: a picture of that many images would have {pixels:,} pixels (at most "
            f"{MAX_PICTURE_PIXELS:,}, about {most:,} images); {advice}"
        )


def save_image_grid(
    images: torch.Tensor,
    shape: tuple[int, ...],
    value_range: tuple[float, float],
    path: Path,
    nrow: int | None = None,
    scale: int = 0,
) -> None:
    """Write a PNG grid; small images are upscaled (nearest) so 8x8 digits stay visible."""
    arr = image_grid(images, shape, value_range, nrow)
    im = Image.fromarray(arr)
    if scale == 0:
        scale = grid_scale(shape)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    save_image(im, path)


def plot_2d(
    target: toy.GaussianMixture | None,
    real: np.ndarray,
    fake: np.ndarray,
    d_of_xy: Callable[[np.ndarray], np.ndarray] | None,
    path: Path,
    title: str = "",
) -> None:
    """Real data (black, on top: the modes stay visible) and G's samples (green) over D(x) as a heat
    map; black and green as p_data and p_g in the 1-D panel (figures.density1d)."""
    both = np.concatenate([real[:, :2], fake[:, :2]]) if len(fake) else real[:, :2]
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    if target is not None:
        m = target.means.numpy()
        lo, hi = np.minimum(lo, m.min(0)), np.maximum(hi, m.max(0))
    pad = 0.15 * (hi - lo) + 0.1
    lo, hi = lo - pad, hi + pad
    fig, ax = plt.subplots(figsize=(6, 6))
    if d_of_xy is not None:
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
        d = d_of_xy(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
        mesh = ax.pcolormesh(gx, gy, d, cmap="coolwarm", vmin=0, vmax=1, shading="auto", alpha=0.6)
        fig.colorbar(mesh, ax=ax, fraction=0.046, label="D(x)")
    ax.scatter(real[:, 0], real[:, 1], s=2, c="k", alpha=0.5, label="data", zorder=3)
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c="g", alpha=0.6, label="G(z)", zorder=2)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def principal_axes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, the first two principal directions as a (d, 2) matrix, their shares of the variance) of the rows of x."""
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    share = var[:2] / max(var.sum(), 1e-300)
    return mean, vt[:2].T, share


def plot_projected(real: np.ndarray, fake: np.ndarray, path: Path, title: str = "") -> None:
    """Data of 3 or more dimensions: data (black) and G's samples (green) on the data's first two
    principal axes, the 2-D view that keeps the most of the data's spread."""
    mean, axes, share = principal_axes(real.astype(np.float64))
    r, f = (real - mean) @ axes, (fake - mean) @ axes
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(r[:, 0], r[:, 1], s=2, c="k", alpha=0.5, label="data", zorder=3)
    ax.scatter(f[:, 0], f[:, 1], s=3, c="g", alpha=0.6, label="G(z)", zorder=2)
    ax.set_xlabel(f"principal axis 1 ({share[0]:.0%} of the data's variance)")
    ax.set_ylabel(f"principal axis 2 ({share[1]:.0%})")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{title}  ({real.shape[1]}-D, projected)".strip())
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def draw(
    samples: torch.Tensor,
    info: dict[str, Any],
    path: Path,
    target: toy.GaussianMixture | None = None,
    D: models.Discriminator | None = None,
    device: torch.device | None = None,
    real: torch.Tensor | None = None,
    title: str = "",
    G: models.Generator | None = None,
    noise: NoiseConfig | None = None,
) -> None:
    """The picture for these samples: image grid, 1-D density panel, 2-D scatter over D, or for
    3 or more dimensions a scatter on the data's first two principal axes.

    1-D: p_g is exact when G and its 1-D `noise` config are given, else the KDE of `samples`.
    """
    device = device or torch.device("cpu")
    if info.get("image_shape"):
        save_image_grid(samples, tuple(info["image_shape"]), tuple(info["value_range"] or (0.0, 1.0)), path)
        return
    dim = int(samples.shape[1])
    d_fn = d_probability(D, device) if D is not None else None
    if dim == 1:
        if target is None:
            raise GanError("a 1-D plot needs the target density (toy data)")
        exact = None
        if G is not None and noise is not None and noise.dim == 1:
            exact = density.pushforward_1d(density.numpy_generator(G), noise.prior, noise.scale, PICTURE_Z_NODES)
        save_density_1d(path, target, samples.numpy(), d_fn, title, exact)
        return
    if dim == 2:
        ref = (
            real
            if real is not None
            else (target.sample(2_000, torch.Generator().manual_seed(0)) if target is not None else samples[:0])
        )
        plot_2d(target, ref.numpy(), samples.numpy(), d_fn, path, title)
        return
    ref = (
        real
        if real is not None
        else (target.sample(2_000, torch.Generator().manual_seed(0)) if target is not None else samples)
    )
    plot_projected(ref.numpy(), samples.numpy(), path, title)
