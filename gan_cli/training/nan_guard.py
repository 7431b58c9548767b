"""NaN/inf guard of the training loop: where it looks, what it says, and what train.nan_policy does.

Losses are checked at each log row (the metrics are read from the device there anyway) and every
weight, optimizer state and pending loss before each checkpoint, in one host-device sync: the
training step itself never waits for the device. A checkpoint holding NaN is never written.
On a NaN, `decide_rollback` says what to do (stop, or reload which checkpoint at which lr scale);
the caller reloads its own state and records the note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_cli.config import TrainConfig
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir


class NonFiniteError(GanError):
    """A loss or a weight became NaN or infinite."""


def last_good(last_saved_step: int | None, run_dir: Path) -> str:
    """Where the newest checkpoint of this run is, for messages."""
    if last_saved_step is None:
        return "no checkpoint has been written yet"
    return f"the last good checkpoint is {RunDir(run_dir).last} (step {last_saved_step})"


def check_losses(row: dict[str, float], step: int, where: str) -> None:
    """Raise NonFiniteError unless every mean in the metrics `row` is finite; `where` is last_good()."""
    if all(math.isfinite(v) for v in row.values()):
        return
    losses = ", ".join(f"{k}={v:.4g}" for k, v in row.items())
    raise NonFiniteError(f"step {step}: a loss became NaN or infinite ({losses}); {where}")


def watched_tensors(
    G: torch.nn.Module,
    D: torch.nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    pending: torch.Tensor,
) -> list[tuple[str, torch.Tensor]]:
    """(label, tensor) for every weight, floating optimizer state and the `pending` metric sums."""
    named: list[tuple[str, torch.Tensor]] = [(f"generator parameter {n}", p) for n, p in G.named_parameters()]
    named += [(f"discriminator parameter {n}", p) for n, p in D.named_parameters()]
    for label, opt in (("generator optimizer", opt_g), ("discriminator optimizer", opt_d)):
        for state in opt.state.values():
            named += [
                (f"{label} state {k}", v) for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()
            ]
    named.append(("a loss since the last log row", pending))
    return named


def check_finite(named: list[tuple[str, torch.Tensor]], device: torch.device, step: int, where: str) -> None:
    """Raise NonFiniteError unless every tensor of `named` is finite (one sync); `where` is last_good()."""
    # Adam keeps its step count on the CPU even for CUDA nets: gather the flags on one device
    flags = [torch.isfinite(t).all().to(device, non_blocking=True) for _, t in named]
    if bool(torch.stack(flags).all()):
        return
    bad = next(label for label, t in named if not bool(torch.isfinite(t).all()))
    raise NonFiniteError(f"step {step}: {bad} is NaN or infinite, so no checkpoint was written; {where}")


@dataclass(frozen=True)
class Rollback:
    """What a train.nan_policy rollback does: reload `checkpoint`, then train at the config's lr
    times `lr_scale`; this is rollback number `count` of at most `limit` in the run."""

    checkpoint: Path
    lr_scale: float
    count: int
    limit: int

    def note(self, bad_step: int, to_step: int, lr: float) -> str:
        """The line for the console and command.txt once the trainer is back at `to_step` with `lr`."""
        return f"step {bad_step}: NaN/inf; rolled back to step {to_step} with lr {lr:.4g} (rollback {self.count} of at most {self.limit})"


def decide_rollback(
    error: NonFiniteError,
    train: TrainConfig,
    rollbacks: int,
    lr_scale: float,
    last_saved_step: int | None,
    run_dir: Path,
) -> Rollback:
    """The rollback to make after `error`, given the run's `rollbacks` so far, its current `lr_scale`
    and its newest checkpoint; raises `error` (nan_policy stop) or a NonFiniteError saying why not."""
    if train.nan_policy != "rollback":
        raise error
    if rollbacks >= train.nan_max_rollbacks:
        raise NonFiniteError(f"{error}; gave up after {rollbacks} rollback(s) (train.nan_max_rollbacks)") from None
    last = RunDir(run_dir).last
    if last_saved_step is None or not last.is_file():
        raise NonFiniteError(f"{error}; nothing to roll back to (lower log.checkpoint_every)") from None
    return Rollback(last, lr_scale * train.nan_lr_scale, rollbacks + 1, train.nan_max_rollbacks)
