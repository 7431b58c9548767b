"""Generation from a checkpoint: rebuild G and D, draw samples of G, D(x) as a function, raw sample files.

Pictures of samples are drawn above this module, in gan_cli.figures (figures.samples.draw).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import checkpoint, models, outputs, toy
from gan_cli.config import TOY_DATASETS, Config, from_dict
from gan_cli.errors import GanError

WEIGHTS = ("ema", "raw")  # `--weights`: G's moving average (train.ema) or G's own weights


@dataclass
class Loaded:
    """A checkpoint's config, nets (eval mode, on `device`) and data description; `weights` says
    which of G's weights G holds: 'ema' (the moving average of train.ema) or 'raw'."""

    cfg: Config
    G: models.Generator
    D: models.Discriminator
    ckpt: dict[str, Any]
    data_info: dict[str, Any]
    device: torch.device
    weights: str = "raw"

    @property
    def target(self) -> toy.GaussianMixture | None:
        return toy.from_config(self.cfg.data) if self.cfg.data.name in TOY_DATASETS else None


def load_models(path: str | Path, device: torch.device, weights: str | None = None) -> Loaded:
    """Rebuild G and D from a checkpoint alone. `weights` picks G's: 'ema' (its moving average,
    train.ema), 'raw', or None: the moving average when the checkpoint has one, else raw."""
    if weights is not None and weights not in WEIGHTS:
        raise GanError(f"--weights {weights}: use ema (G's moving average, train.ema) or raw")
    ckpt = checkpoint.load(path)
    try:
        cfg = from_dict(ckpt["config"])
    except GanError as exc:
        raise GanError(f"{ckpt['path']}: the checkpoint's config is not valid for this gan-cli: {exc}") from None
    info = ckpt.get("data_info") or {}
    dim = info.get("dim") or output_dim(ckpt["generator"])
    chosen = weights or ("ema" if "ema" in ckpt else "raw")
    g_state = _ema_weights(ckpt) if chosen == "ema" else ckpt["generator"]
    g, d = models.build(cfg, dim)
    try:
        g.load_state_dict(g_state)
        d.load_state_dict(ckpt["discriminator"])
    except (RuntimeError, KeyError) as exc:
        # torch's message is a heading, then a line a mismatched tensor: the heading and the first
        first = " ".join(line.strip() for line in str(exc).strip("'\"").splitlines()[:2])
        raise GanError(f"{ckpt['path']}: the weights do not match the checkpoint's config: {first}") from None
    g.to(device).eval()
    d.to(device).eval()
    info = {
        "dim": dim,
        "image_shape": info.get("image_shape"),
        "value_range": info.get("value_range"),
        "fingerprint": info.get("fingerprint"),  # of the data it trained on: gan eval checks the data is the same
    }
    return Loaded(cfg, g, d, ckpt, info, device, chosen)


def _ema_weights(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The checkpoint's moving average of G (train.ema), checked; a GanError when it has none."""
    ema = ckpt.get("ema")
    if ema is None:
        raise GanError(
            f"--weights ema: {ckpt['path']} holds no moving average of G (its run had train.ema.decay null); use --weights raw"
        )
    state = ema.get("weights") if isinstance(ema, dict) else None
    if not isinstance(state, dict):
        raise GanError(f"{ckpt['path']}: damaged checkpoint: ema has no weights mapping")
    bad = checkpoint.nonfinite_tensors(state)
    if bad:
        raise GanError(
            f"{ckpt['path']}: G's moving average (ema) holds NaN or inf ({', '.join(bad[:3])}); try --weights raw or an earlier checkpoint"
        )
    return state


def output_dim(state: dict[str, torch.Tensor]) -> int:
    bias = state.get("out.bias")
    if bias is None:
        raise GanError("the checkpoint's generator has no output layer (out.bias)")
    return int(bias.shape[0])


@torch.no_grad()
def generated_batches(
    G: models.Generator, cfg: Config, n: int, seed: int, device: torch.device, batch: int = 10_000
) -> Iterator[torch.Tensor]:
    """n samples G(z) in batches (float32, CPU), z from the config's prior drawn from a generator
    seeded by `seed` (CPU): the same seed gives the same samples whatever is done with them."""
    gen = torch.Generator().manual_seed(seed)
    c = cfg.noise
    with models.eval_mode(G):
        for start in range(0, n, batch):
            z = models.sample_noise(min(batch, n - start), c.dim, c.prior, c.scale, torch.device("cpu"), gen).to(device)
            yield G(z).float().cpu()


def generate(
    G: models.Generator, cfg: Config, n: int, seed: int, device: torch.device, batch: int = 10_000
) -> torch.Tensor:
    """n samples G(z) in one tensor (see generated_batches)."""
    out = list(generated_batches(G, cfg, n, seed, device, batch))
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


def save_raw(loaded: Loaded, n: int, seed: int, path: Path) -> None:
    """Write n samples of the loaded G as raw rows, by the extension of `path`: .npy streamed to the
    file batch by batch (memory stays at one batch whatever n is), .pt as one tensor."""
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".pt"):
        raise GanError(f"--out {path}: use a .npy or .pt file for raw samples")
    dim = output_dim(loaded.ckpt["generator"])
    batches = generated_batches(loaded.G, loaded.cfg, n, seed, loaded.device)

    def stream(tmp: Path) -> None:
        rows = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
        start = 0
        for batch in batches:
            rows[start : start + len(batch)] = batch.numpy()
            start += len(batch)
        rows.flush()
        del rows

    if suffix == ".npy":
        outputs.write_atomic(path, stream, "--out")
    else:
        outputs.write_atomic(
            path, lambda tmp: torch.save(generate(loaded.G, loaded.cfg, n, seed, loaded.device), tmp), "--out"
        )
