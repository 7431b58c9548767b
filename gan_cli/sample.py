"""Generation from a checkpoint, and the pictures of samples for every kind of data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import checkpoint, models, toy
from gan_cli.config import TOY_DATASETS, Config, from_dict
from gan_cli.errors import GanError
from gan_cli.figures import samples as plots


@dataclass
class Loaded:
    """A checkpoint's config, nets (eval mode, on `device`) and data description."""

    cfg: Config
    G: models.Generator
    D: models.Discriminator
    ckpt: dict[str, Any]
    data_info: dict[str, Any]
    device: torch.device

    @property
    def target(self) -> toy.GaussianMixture | None:
        return toy.from_config(self.cfg.data) if self.cfg.data.name in TOY_DATASETS else None


def load_models(path: str | Path, device: torch.device) -> Loaded:
    """Rebuild G and D from a checkpoint alone."""
    ckpt = checkpoint.load(path)
    try:
        cfg = from_dict(ckpt["config"])
    except GanError as exc:
        raise GanError(f"{ckpt['path']}: the checkpoint's config is not valid for this gan-cli: {exc}") from None
    info = ckpt.get("data_info") or {}
    dim = info.get("dim") or _output_dim(ckpt["generator"])
    g, d = models.build(cfg, dim)
    try:
        g.load_state_dict(ckpt["generator"])
        d.load_state_dict(ckpt["discriminator"])
    except (RuntimeError, KeyError) as exc:
        raise GanError(f"{ckpt['path']}: the weights do not match the checkpoint's config: {str(exc).splitlines()[0]}") from None
    g.to(device).eval()
    d.to(device).eval()
    info = {"dim": dim, "image_shape": info.get("image_shape"), "value_range": info.get("value_range")}
    return Loaded(cfg, g, d, ckpt, info, device)


def _output_dim(state: dict[str, torch.Tensor]) -> int:
    bias = state.get("out.bias")
    if bias is None:
        raise GanError("the checkpoint's generator has no output layer (out.bias)")
    return int(bias.shape[0])


@torch.no_grad()
def generate(G: models.Generator, cfg: Config, n: int, seed: int, device: torch.device, batch: int = 10_000) -> torch.Tensor:
    """n samples G(z), z from the config's prior drawn from a generator seeded by `seed` (CPU)."""
    gen = torch.Generator().manual_seed(seed)
    c = cfg.noise
    out = []
    with models.eval_mode(G):
        for start in range(0, n, batch):
            z = models.sample_noise(min(batch, n - start), c.dim, c.prior, c.scale, torch.device("cpu"), gen).to(device)
            out.append(G(z).float().cpu())
    return torch.cat(out) if out else torch.empty(0, cfg.noise.dim)


def d_probability(D: models.Discriminator, device: torch.device):
    """x (numpy, n x d) -> D(x) in (0, 1), numpy; D in eval mode (no dropout)."""

    @torch.no_grad()
    def f(x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
        if t.ndim == 1:
            t = t[:, None]
        with models.eval_mode(D):
            return torch.sigmoid(D(t)).float().cpu().numpy()

    return f


def draw(
    samples: torch.Tensor,
    info: dict[str, Any],
    path: Path,
    target: toy.GaussianMixture | None = None,
    D: models.Discriminator | None = None,
    device: torch.device | None = None,
    real: torch.Tensor | None = None,
    title: str = "",
) -> None:
    """The picture for these samples: image grid, 1-D density plot, or 2-D scatter over D."""
    device = device or torch.device("cpu")
    if info.get("image_shape"):
        plots.save_image_grid(samples, tuple(info["image_shape"]), tuple(info["value_range"] or (0.0, 1.0)), path)
        return
    dim = int(samples.shape[1])
    d_fn = d_probability(D, device) if D is not None else (lambda x: np.full(len(x), np.nan))
    if dim == 1:
        if target is None:
            raise GanError("a 1-D plot needs the target density (toy data)")
        plots.plot_1d(target, samples.numpy(), d_fn, path, title)
        return
    if dim == 2:
        ref = real if real is not None else (target.sample(2_000, torch.Generator().manual_seed(0)) if target is not None else samples[:0])
        plots.plot_2d(target, ref.numpy(), samples.numpy(), d_fn if D is not None else None, path, title)
        return
    raise GanError(f"cannot draw {dim}-dimensional samples: save them as .npy or .pt instead")


def save_samples(samples: torch.Tensor, path: Path, **draw_args: Any) -> None:
    """Write samples by the extension of `path`: .png (picture), .npy or .pt (raw rows)."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, samples.numpy())
    elif suffix == ".pt":
        torch.save(samples, path)
    elif suffix == ".png":
        draw(samples, path=path, **draw_args)
    else:
        raise GanError(f"--out {path}: use a .png, .npy or .pt file")


def sample_command(ckpt_path: str | Path, n: int, seed: int, out: Path | None, device_name: str = "cpu") -> Path:
    """`gan sample`: n samples from the checkpoint's G written to `out` (default: a PNG in the run dir)."""
    from gan_cli import devices

    device = devices.select(device_name)
    loaded = load_models(ckpt_path, device)
    step = int(loaded.ckpt["step"])
    if out is None:
        out = checkpoint.run_dir_of(Path(loaded.ckpt["path"])) / "samples" / f"sample_step{step:07d}_seed{seed}.png"
    if out.suffix.lower() not in (".png", ".npy", ".pt"):
        raise GanError(f"--out {out}: use a .png, .npy or .pt file")
    samples = generate(loaded.G, loaded.cfg, n, seed, device)
    save_samples(samples, out, info=loaded.data_info, target=loaded.target, D=loaded.D, device=device, title=f"step {step}, {n} samples, seed {seed}")
    return out
