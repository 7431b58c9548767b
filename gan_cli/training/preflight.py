"""Checks and facts about a run that need no training: the nets' sizes (on the meta device, no
memory used) and what `gan train --dry-run` prints."""

from __future__ import annotations

import dataclasses

import torch

from gan_cli import config as config_mod
from gan_cli import data, devices, models
from gan_cli.config import Config
from gan_cli.data import Dataset
from gan_cli.errors import GanError
from gan_cli.evaluate import parzen
from gan_cli.figures.samples import check_picture_size
from gan_cli.training.loop import Trainer

MAX_PARAMETERS = 2**31 - 1
"""Most parameters either net may have: 8.6 GB of float32 weights, before gradients and optimizer state."""


def parameter_counts(cfg: Config, dim: int) -> tuple[int, int]:
    """(G, D) parameter counts for data of `dim` values, built on the meta device (no memory used)."""
    with torch.device("meta"):
        g, d = models.build(cfg, dim)
    return models.count_parameters(g), models.count_parameters(d)


def check_size(cfg: Config, dim: int) -> tuple[int, int]:
    """The (G, D) parameter counts; GanError naming the keys to shrink when either is too large."""
    counts = parameter_counts(cfg, dim)
    for net, n, keys in (
        ("generator", counts[0], "noise.dim and generator.hidden"),
        ("discriminator", counts[1], "discriminator.hidden"),
    ):
        if n > MAX_PARAMETERS:
            raise GanError(
                f"{net}: {n:,} parameters, more than the {MAX_PARAMETERS:,} this machine's memory could hold; make {keys} smaller"
            )
    return counts


def check_memory(cfg: Config, dim: int) -> None:
    """GanError naming the key when what model selection holds at once (select.kernels samples
    through G, then a chunk of their distances to the validation examples) passes the host memory
    available, before the first step: it was met at the end of the first epoch, as an out-of-memory
    line that blamed the nets, or not at all (the kernel's OOM killer)."""
    if cfg.select.every_epochs:
        k = cfg.select.kernels
        need = models.generator_pass_bytes(cfg, dim, k) + parzen.chunk_bytes(cfg.select.valid_examples, k)
        devices.check_host_memory(need, f"select.kernels {k:,}")


def check_pictures(cfg: Config, dataset: Dataset) -> None:
    """GanError naming log.picture_samples when its picture could not be drawn (past 100 megapixels,
    or a million points): checked before the trainer allocates that many fixed noise vectors. A
    config asking for 10^9 once failed with an out-of-memory message that blamed the nets."""
    check_picture_size(
        cfg.log.picture_samples, {"image_shape": dataset.image_shape}, "log.picture_samples", "make it smaller"
    )


def dry_run_header(cfg: Config, device: torch.device) -> str:
    """The resolved config with the device chosen, and the nets' sizes when the data's size is known."""
    text = config_mod.dump_yaml(dataclasses.replace(cfg, device=str(device)))
    dim = data.known_dim(cfg)
    if dim is None:
        return text + "\n# parameter counts: known once the data is loaded\n"
    g, d = check_size(cfg, dim)
    return text + f"\n# generator parameters: {g:,}\n# discriminator parameters: {d:,}\n"


def dry_run_data(cfg: Config, trainer: Trainer, total: int) -> str:
    """What only the loaded data tells: the nets' sizes where the config alone did not, the budget."""
    sizes = ""
    if data.known_dim(cfg) is None:
        g, d = models.count_parameters(trainer.G), models.count_parameters(trainer.D)
        sizes = f"# generator parameters: {g:,}\n# discriminator parameters: {d:,}\n"
    batches = trainer.sampler.batches_per_epoch
    return (
        sizes + f"# training examples: {len(trainer.train_data):,}; steps: {total:,} ({batches:,} batches per epoch)\n"
    )
