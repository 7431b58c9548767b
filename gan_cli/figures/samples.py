"""Pictures: image grids, the 1-D density plot of Figure 1, and the 2-D scatter with D's heat map."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gan_cli.toy import GaussianMixture  # noqa: E402


def image_grid(images: torch.Tensor, shape: tuple[int, ...], value_range: tuple[float, float], nrow: int | None = None, pad: int = 2) -> np.ndarray:
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


def save_image_grid(images: torch.Tensor, shape: tuple[int, ...], value_range: tuple[float, float], path: Path, nrow: int | None = None, scale: int = 0) -> None:
    """Write a PNG grid; small images are upscaled (nearest) so 8x8 digits stay visible."""
    arr = image_grid(images, shape, value_range, nrow)
    im = Image.fromarray(arr)
    if scale == 0:
        scale = max(1, math.ceil(32 / max(shape[1], 1)))  # about 32 pixels per image side at least
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def _kde_1d(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian KDE with Silverman's bandwidth, for drawing p_g in 1-D."""
    s = samples.reshape(-1).astype(np.float64)
    if len(s) < 2 or s.std() == 0:
        return np.zeros_like(grid)
    bw = 1.06 * s.std() * len(s) ** (-1 / 5)
    if len(s) > 20_000:
        s = s[:: len(s) // 20_000 + 1]
    z = (grid[:, None] - s[None, :]) / bw
    return np.exp(-0.5 * z**2).sum(1) / (len(s) * bw * math.sqrt(2 * math.pi))


def plot_1d(
    target: GaussianMixture,
    fake: np.ndarray,
    d_of_x: callable,
    path: Path,
    title: str = "",
    ax: plt.Axes | None = None,
) -> None:
    """Figure 1's style: p_data (black dotted), p_g (green solid), D (blue dashed), D* (grey)."""
    fake = fake.reshape(-1)
    mu = float(target.means[:, 0].mean())
    spread = float(max(target.stds.max().item() * 4, 1e-3))
    lo = min(mu - spread, np.percentile(fake, 0.5) if len(fake) else mu - spread)
    hi = max(mu + spread, np.percentile(fake, 99.5) if len(fake) else mu + spread)
    pad = 0.1 * (hi - lo)
    xs = np.linspace(lo - pad, hi + pad, 400)
    p_data = target.log_prob(torch.from_numpy(xs)[:, None]).exp().numpy()
    p_g = _kde_1d(fake, xs)
    d = d_of_x(xs)
    d_star = p_data / np.maximum(p_data + p_g, 1e-300)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, p_data, "k:", lw=2, label="p_data")
    ax.plot(xs, p_g, "g-", lw=2, label="p_g (KDE of G(z))")
    ax.hist(fake, bins=80, range=(xs[0], xs[-1]), density=True, color="g", alpha=0.15)
    ax2 = ax.twinx()
    ax2.plot(xs, d, "b--", lw=2, label="D(x)")
    ax2.plot(xs, d_star, color="0.5", lw=1, label="D*(x) = p_data/(p_data+p_g)")
    ax2.axhline(0.5, color="0.8", lw=0.8)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("D(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    ax.set_title(title)
    if own:
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)


def plot_2d(target: GaussianMixture | None, real: np.ndarray, fake: np.ndarray, d_of_xy: callable | None, path: Path, title: str = "") -> None:
    """Real data (grey) and G's samples (green) over D(x) as a heat map."""
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
    ax.scatter(real[:, 0], real[:, 1], s=3, c="0.3", alpha=0.4, label="data")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c="g", alpha=0.6, label="G(z)")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
