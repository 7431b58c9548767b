"""NaN/inf guard of the training loop: where it looks, what it says, and train.nan_policy rollback.

Losses are checked at each log row (the metrics are read from the device there anyway) and every
weight, optimizer state and pending loss before each checkpoint, in one host-device sync: the
training step itself never waits for the device. A checkpoint holding NaN is never written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gan_cli import checkpoint, runlog
from gan_cli.errors import GanError

if TYPE_CHECKING:
    from gan_cli.training.loop import Trainer


class NonFiniteError(GanError):
    """A loss or a weight became NaN or infinite."""


def last_good(trainer: Trainer, run_dir: Path) -> str:
    """Where the newest checkpoint of this run is, for messages."""
    if trainer.last_saved_step is None:
        return "no checkpoint has been written yet"
    return f"the last good checkpoint is {checkpoint.checkpoint_dir(run_dir) / 'last.pt'} (step {trainer.last_saved_step})"


def _watched_tensors(trainer: Trainer) -> list[tuple[str, torch.Tensor]]:
    named = [(f"generator parameter {n}", p) for n, p in trainer.G.named_parameters()]
    named += [(f"discriminator parameter {n}", p) for n, p in trainer.D.named_parameters()]
    for label, opt in (("generator optimizer", trainer.opt_g), ("discriminator optimizer", trainer.opt_d)):
        for state in opt.state.values():
            named += [(f"{label} state {k}", v) for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()]
    named.append(("a loss since the last log row", trainer.acc.sums))
    return named


def check_finite(trainer: Trainer, run_dir: Path) -> None:
    """Raise NonFiniteError unless every weight, optimizer state and pending loss is finite (one sync)."""
    named = _watched_tensors(trainer)
    # Adam keeps its step count on the CPU even for CUDA nets: gather the flags on one device
    flags = [torch.isfinite(t).all().to(trainer.device, non_blocking=True) for _, t in named]
    if bool(torch.stack(flags).all()):
        return
    bad = next(label for label, t in named if not bool(torch.isfinite(t).all()))
    raise NonFiniteError(
        f"step {trainer.step}: {bad} is NaN or infinite, so no checkpoint was written; {last_good(trainer, run_dir)}"
    )


def roll_back(trainer: Trainer, run_dir: Path, error: NonFiniteError) -> None:
    """train.nan_policy rollback: reload last.pt and continue at a smaller lr, or re-raise `error`."""
    t = trainer.cfg.train
    if t.nan_policy != "rollback":
        raise error
    if trainer.nan_rollbacks >= t.nan_max_rollbacks:
        raise NonFiniteError(f"{error}; gave up after {trainer.nan_rollbacks} rollback(s) (train.nan_max_rollbacks)") from None
    last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
    if trainer.last_saved_step is None or not last.is_file():
        raise NonFiniteError(f"{error}; nothing to roll back to (lower log.checkpoint_every)") from None
    rollbacks, scale, bad_step = trainer.nan_rollbacks + 1, trainer.lr_scale * t.nan_lr_scale, trainer.step
    trainer.load_state_dict(checkpoint.load(last))  # on the CPU, as on resume
    trainer.nan_rollbacks = rollbacks
    trainer.set_lr_scale(scale)
    runlog.rewind(run_dir / "metrics.jsonl", trainer.step)
    note = (
        f"step {bad_step}: NaN/inf; rolled back to step {trainer.step} with lr {trainer.base_lr * trainer.lr_scale:.4g} "
        f"(rollback {rollbacks} of at most {t.nan_max_rollbacks})"
    )
    print(f"warning: {note}", file=sys.stderr, flush=True)
    with open(run_dir / "command.txt", "a", encoding="utf-8") as fh:
        fh.write(note + "\n")
