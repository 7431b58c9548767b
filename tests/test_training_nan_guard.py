"""NaN/inf guard: train.nan_policy stop names the step and the last good checkpoint, rollback reloads
last.pt at a smaller lr at most train.nan_max_rollbacks times, and no checkpoint ever holds NaN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import (
    gan,
    metrics_rows,
    one_clean_error,
    toy_config,
    write_config,
)

from gan_cli import checkpoint
from gan_cli.training import run as run_mod
from gan_cli.training.loop import Trainer
from gan_cli.training.running_clock import RunningClock


def nan_config(tmp_path: Path, **train: Any) -> Path:
    cfg = toy_config(
        train={**toy_config()["train"], "steps": 12, **train},
        log={**toy_config()["log"], "every": 2, "checkpoint_every": 4},
    )
    return write_config(tmp_path / "nan.yaml", cfg)


def poison_after(monkeypatch: pytest.MonkeyPatch, step: int, only_at_full_lr: bool = False) -> None:
    """Make G's first weight NaN right after generator step `step` (optionally only before any rollback)."""
    original = Trainer.train_step

    def train_step(self: Trainer) -> None:
        original(self)
        if self.step == step and not (only_at_full_lr and self.lr_scale != 1.0):
            with torch.no_grad():
                next(self.G.parameters()).view(-1)[0] = float("nan")

    monkeypatch.setattr(Trainer, "train_step", train_step)


def finite_checkpoint(path: Path) -> dict[str, Any]:
    ckpt = checkpoint.load(path)
    for net in ("generator", "discriminator"):
        assert all(torch.isfinite(t).all() for t in ckpt[net].values())
    return ckpt


def test_nan_policy_stop_names_the_step_and_the_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_after(monkeypatch, 7)
    run = tmp_path / "run"
    message = one_clean_error(gan("train", nan_config(tmp_path), "--out", run))
    assert "step 8: a loss became NaN or infinite" in message
    assert f"the last good checkpoint is {run / 'checkpoints' / 'last.pt'} (step 4)" in message
    assert finite_checkpoint(run)["step"] == 4
    assert [r["step"] for r in metrics_rows(run)] == [2, 4, 6], "no NaN row is logged"


def test_a_checkpoint_holding_nan_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN weights between log rows are caught by the check before the checkpoint."""
    poison_after(monkeypatch, 3)
    run = tmp_path / "run"
    message = one_clean_error(gan("train", nan_config(tmp_path), "--out", run, "--set", "log.every=100"))
    assert "step 4: generator parameter" in message and "is NaN or infinite, so no checkpoint was written" in message
    assert "no checkpoint has been written yet" in message
    assert not (run / "checkpoints" / "last.pt").exists()


def test_a_real_divergence_from_a_huge_lr_stops_cleanly(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = nan_config(tmp_path, optimizer={"name": "sgd", "lr": 1e30, "sgd_form": "torch"})
    message = one_clean_error(gan("train", cfg, "--out", run))
    assert "a loss became NaN or infinite" in message and "no checkpoint has been written yet" in message
    # with rollback there is nothing to roll back to before the first checkpoint
    message = one_clean_error(gan("train", cfg, "--out", tmp_path / "run2", "--set", "train.nan_policy=rollback"))
    assert "nothing to roll back to" in message


def test_nan_policy_rollback_reloads_last_pt_at_a_smaller_lr_and_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_after(monkeypatch, 7, only_at_full_lr=True)
    run = tmp_path / "run"
    cfg = nan_config(tmp_path, nan_policy="rollback", nan_max_rollbacks=2, nan_lr_scale=0.25)
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    assert "rolled back to step 4 with lr 0.00025" in result.output
    ckpt = finite_checkpoint(run)
    assert ckpt["step"] == 12 and ckpt["schedule"]["lr_scale"] == 0.25 and ckpt["schedule"]["nan_rollbacks"] == 1
    rows = metrics_rows(run)
    assert [r["step"] for r in rows] == [2, 4, 6, 8, 10, 12], "the rows after the rollback replace the lost ones"
    assert [r["lr"] for r in rows] == [0.001] * 2 + [0.00025] * 4
    assert "rolled back to step 4" in (run / "command.txt").read_text()

    # the run resumes at its reduced lr: the saved lr is not taken for a changed config
    monkeypatch.undo()
    result = gan("train", "--resume", run, "--set", "train.steps=14")
    assert result.exit_code == 0, result.output
    assert metrics_rows(run)[-1]["lr"] == 0.00025 and metrics_rows(run)[-1]["step"] == 14


def test_nan_policy_rollback_gives_up_after_nan_max_rollbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_after(monkeypatch, 7)  # NaN again after every rollback
    run = tmp_path / "run"
    message = one_clean_error(gan("train", nan_config(tmp_path, nan_policy="rollback", nan_max_rollbacks=2), "--out", run))
    assert "gave up after 2 rollback(s)" in message and "step 8" in message
    assert finite_checkpoint(run)["step"] == 4
    notes = (run / "command.txt").read_text()
    assert "rolled back to step 4 with lr 0.0005 (rollback 1" in notes and "rolled back to step 4 with lr 0.00025 (rollback 2" in notes


def test_the_steps_a_rollback_discards_stay_in_the_time_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One second a step, steps counted as they are taken: a NaN after step 8 rolls back to step 4,
    and the run ends at step 12 after 16 steps of training, which its clock says, not the 12 that the
    checkpoint's time plus the steps after it would make (train.max_minutes ran over by the steps lost)."""
    poison_after(monkeypatch, 7, only_at_full_lr=True)
    taken = [0]
    poisoned = Trainer.train_step

    def counted(self: Trainer) -> None:
        taken[0] += 1
        poisoned(self)

    monkeypatch.setattr(Trainer, "train_step", counted)
    monkeypatch.setattr(run_mod, "RunningClock", lambda: RunningClock(grace_s=1e9, now=lambda: float(taken[0])))
    run = tmp_path / "run"
    cfg = nan_config(tmp_path, nan_policy="rollback", nan_max_rollbacks=2)
    result = gan("train", cfg, "--out", run, "--set", "log.samples_every=1000")
    assert result.exit_code == 0, result.output
    assert taken[0] == 16 and "rolled back to step 4" in result.output
    ckpt = checkpoint.load(run)
    assert ckpt["step"] == 12 and ckpt["schedule"]["elapsed"] == 16.0
