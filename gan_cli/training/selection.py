"""Model selection on a cheap validation Parzen signal, as the authors most likely chose their model.

Every `select.every_epochs` epochs (the training loop keeps that cadence), `select.kernels`
samples from G (fixed noise, G in eval mode) are the kernel centres, the first `select.valid_examples`
validation examples are scored for every sigma of the paper's grid (numpy.logspace(-1, 0, 10)), and
the best mean log-likelihood over the grid is the signal `valid_parzen` (nats). One row per check
goes to RUN_DIR/selection.jsonl; a new best writes checkpoints/best.pt atomically. Choosing sigma
per check (rather than the fixed 0.2 of the released code's monitor) keeps the signal comparable as
samples sharpen: the best sigma for 1,000 kernels is not the best for 10,000, and the grid costs
nothing extra (distances are shared).
With train.ema on, the signal (and best.pt's choice) is that of G's moving average, the G that
`gan sample` and `gan eval` use; the raw G's signal is logged beside it as `valid_parzen_raw`.
The test split is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gan_cli import checkpoint, models, runlog, seeds
from gan_cli.evaluate import parzen
from gan_cli.run_dir import RunDir


@torch.no_grad()
def validation_parzen(
    G: torch.nn.Module,
    valid: torch.Tensor,
    noise: torch.Tensor,
    sigmas: tuple[float, ...] | list[float] = parzen.PAPER_SIGMAS,
) -> tuple[float, float]:
    """(best mean log-likelihood over `sigmas` of `valid` under a Parzen window on G(noise), that sigma)."""
    with models.eval_mode(G):
        centers = G(noise)
    sigma, means = parzen.select_sigma(valid.to(centers.device), centers, sigmas)
    return max(means), sigma


def read_best(run_dir: Path, up_to_step: int | None = None) -> float | None:
    """The best `valid_parzen` logged so far in RUN_DIR/selection.jsonl (rows after `up_to_step` ignored)."""
    scores = [
        row["valid_parzen"]
        for row in runlog.read_objects(RunDir(run_dir).selection)  # every row: thinning could drop the best
        if isinstance(row.get("valid_parzen"), (int, float)) and (up_to_step is None or row["step"] <= up_to_step)
    ]
    return max(scores) if scores else None


class Selection:
    """The selection state of one run: validation rows, fixed kernel-centre noise, the best score so far.

    `trainer` is a gan_cli.training.loop.Trainer (cfg, dataset, device, step are read here; eval_G,
    step, completed_epochs and state_dict() at each check). Building it forgets the rows of
    selection.jsonl after the trainer's step, as a resume does for metrics.jsonl.
    """

    def __init__(self, trainer: Any, run_dir: Path) -> None:
        cfg = trainer.cfg
        self.run_dir = run_dir
        self.valid = trainer.dataset.valid[: cfg.select.valid_examples].to(trainer.device)
        gen = torch.Generator().manual_seed(
            seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_SELECTION_NOISE)
        )  # its own generator: the training RNG stream is untouched
        noise = models.sample_noise(
            cfg.select.kernels, cfg.noise.dim, cfg.noise.prior, cfg.noise.scale, torch.device("cpu"), gen
        )
        self.noise = noise.to(trainer.device)
        runlog.rewind(RunDir(run_dir).selection, trainer.step)
        self.best = read_best(run_dir, trainer.step)

    def check(self, trainer: Any) -> dict[str, Any]:
        """Score the trainer's G now (its moving average when train.ema is on); append the row to
        selection.jsonl; write best.pt if it is the best yet. Returns the row."""
        value, sigma = validation_parzen(trainer.eval_G, self.valid, self.noise)
        is_best = self.best is None or value > self.best
        if is_best:
            self.best = value
            checkpoint.atomic_save(trainer.state_dict(), RunDir(self.run_dir).best)
        row = {
            "step": trainer.step,
            "epoch": trainer.completed_epochs,
            "valid_parzen": value,
            "sigma": sigma,
            "best": is_best,
        }
        if trainer.eval_G is not trainer.G:  # train.ema: the raw G's signal beside the average's
            row["valid_parzen_raw"] = validation_parzen(trainer.G, self.valid, self.noise)[0]
        with open(RunDir(self.run_dir).selection, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        return row


def make_hook(trainer: Any, run_dir: Path) -> Callable[[Any], dict[str, Any]] | None:
    """The `on_select(trainer)` hook for gan_cli.training.run.run (it returns the selection.jsonl row
    it wrote), or None when selection is off (select.every_epochs 0). The loop decides on which
    epochs it runs."""
    if trainer.cfg.select.every_epochs <= 0:
        return None
    return Selection(trainer, run_dir).check
