"""Checks and facts about a run that need no training: the nets' sizes (on the meta device, no
memory used) and what `gan train --dry-run` prints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from gan_cli import checkpoint, data, devices, models, optim, outputs
from gan_cli import config as config_mod
from gan_cli.config import Config
from gan_cli.data import Dataset
from gan_cli.devices import human_bytes
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


def training_bytes(cfg: Config, counts: tuple[int, int]) -> int:
    """Bytes that G and D of (G, D) `counts` parameters hold while they train, at least: float32
    weights and gradients, the optimizer's state (Adam: two moments a weight) and the moving
    average of G's weights (train.ema). The paper's MNIST nets (2,503,984 and 1,231,441 parameters)
    with Adam and no average: 59.8 MB."""
    per_weight = 2 + optim.state_tensors_per_weight(cfg.train.optimizer)
    g, d = counts
    return 4 * (g * (per_weight + (cfg.train.ema.decay is not None)) + d * per_weight)


def check_memory(cfg: Config, dim: int, counts: tuple[int, int], device: torch.device) -> None:
    """GanError naming the keys when what training holds at once passes the host memory available,
    before the nets are built: on the CPU (and MPS, which shares it) the nets with their gradients
    and optimizer state (`training_bytes`), elsewhere the weights the nets are built with on the host
    before they move; with model selection, also what it holds at once (select.kernels samples
    through G, then a chunk of their distances to the validation examples). Nets near the 2^31
    parameters `check_size` allows need tens of GB and were built unchecked, where an allocation past
    the memory does not fail cleanly but swaps or wakes the kernel's OOM killer (SIGKILL, no
    message); a selection past the memory was met at the end of the first epoch. `counts`: the
    (G, D) parameter counts."""
    nets = training_bytes(cfg, counts) if device.type in ("cpu", "mps") else 4 * sum(counts)
    devices.check_host_memory(
        nets, f"the nets ({counts[0]:,} + {counts[1]:,} parameters; generator.hidden, discriminator.hidden, noise.dim)"
    )
    if cfg.select.every_epochs:
        k = cfg.select.kernels
        need = models.generator_pass_bytes(cfg, dim, k) + parzen.chunk_bytes(cfg.select.valid_examples, k)
        devices.check_host_memory(nets + need, f"select.kernels {k:,} (beside the nets' {human_bytes(nets)})")


def checkpoint_bytes(cfg: Config, trainer: Trainer) -> int:
    """Bytes of one checkpoint of this run, at least: the checkpoint it would write now, plus the
    state the optimizers add at their first update where they have none yet (a new run's Adam: two
    moments per weight of G and D)."""
    now = checkpoint.saved_bytes(trainer.state_dict())
    if trainer.opt_g.state or trainer.opt_d.state:  # resumed: the optimizers' state is counted above
        return now
    weights = sum(p.numel() * p.element_size() for net in (trainer.G, trainer.D) for p in net.parameters())
    return now + weights * optim.state_tensors_per_weight(cfg.train.optimizer)


def check_disk(cfg: Config, nbytes: int, where: Path) -> str | None:
    """GanError when a checkpoint of `nbytes` cannot be written under `where` (the run directory, or
    the folder a new one goes in): past the disk's free space or this process's file-size limit
    (`ulimit -f`). Checked before the first step: that failure came at the first checkpoint, after
    log.checkpoint_every steps of training. Returns a warning when the checkpoints the run keeps
    (log.keep step files, last.pt, best.pt, and the one being written) would outgrow the free space."""
    limit = outputs.file_size_limit()
    if limit is not None and nbytes > limit:
        raise GanError(
            f"a checkpoint of this run takes about {human_bytes(nbytes)}, past this shell's file-size limit of "
            f"{human_bytes(limit)} (ulimit -f); raise it (ulimit -f unlimited) or make the nets smaller"
        )
    free = outputs.free_bytes(where / "checkpoints" / "last.pt")
    if free is None:
        return None
    if nbytes > free:
        raise GanError(
            f"--out {where}: a checkpoint of this run takes about {human_bytes(nbytes)} and its disk has "
            f"{human_bytes(free)} free; free some space there or choose another --out"
        )
    kept = (cfg.log.keep + 2) * nbytes
    if kept > free:
        return (
            f"the run keeps up to {cfg.log.keep + 2} checkpoints of about {human_bytes(nbytes)} (log.keep {cfg.log.keep}, "
            f"last.pt, best.pt): about {human_bytes(kept)}, and the disk under {where} has {human_bytes(free)} free"
        )
    return None


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
    return text + "\n" + _size_lines(cfg, (g, d))


def _size_lines(cfg: Config, counts: tuple[int, int]) -> str:
    """--dry-run's lines on the nets: each one's parameter count, and the memory their training takes."""
    g, d = counts
    state = human_bytes(training_bytes(cfg, counts))
    return (
        f"# generator parameters: {g:,}\n# discriminator parameters: {d:,}\n"
        f"# the nets' training state: about {state} (weights, gradients, optimizer state, G's average)\n"
    )


def dry_run_data(cfg: Config, trainer: Trainer, total: int) -> str:
    """What only the loaded data tells: the nets' sizes where the config alone did not, the budget."""
    sizes = ""
    if data.known_dim(cfg) is None:
        g, d = models.count_parameters(trainer.G), models.count_parameters(trainer.D)
        sizes = _size_lines(cfg, (g, d))
    batches = trainer.sampler.batches_per_epoch
    return (
        sizes + f"# training examples: {len(trainer.train_data):,}; steps: {total:,} ({batches:,} batches per epoch)\n"
    )
