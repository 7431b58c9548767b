"""gan_cli/training/run.py: the run around the trainer; here its time budget (train.max_minutes).
Signals, NaN and checkpoints are specified in test_commands_train.py, test_training_nan_guard.py
and test_checkpoint.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import gan, metrics_rows, tiny_toy_config, without_timing, write_config
from test_training_resume import assert_same_state

from gan_cli import checkpoint
from gan_cli.training import run as run_mod
from gan_cli.training.loop import Trainer


def budget_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    """A clock whose budget runs out once `steps` generator updates are done (time itself is not
    what this test is about, and a sleep would be)."""
    monkeypatch.setattr(run_mod._Clock, "over_budget", lambda self: self.trainer.step >= steps)


def config(tmp_path: Path, steps: int, minutes: float | None = 30.0) -> Path:
    raw = tiny_toy_config(train={**tiny_toy_config()["train"], "steps": steps, "max_minutes": minutes}, log={**tiny_toy_config()["log"], "every": 2})
    return write_config(tmp_path / f"c{steps}.yaml", raw)


def test_the_time_budget_checkpoints_and_a_resume_continues_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert gan("train", config(tmp_path, 12, None), "--out", full).exit_code == 0

    budget_after(monkeypatch, 5)
    result = gan("train", config(tmp_path, 12), "--out", cut)
    assert result.exit_code == 0, result.output
    assert "time budget reached" in result.output and "at step 5" in result.output
    assert checkpoint.load(cut)["step"] == 5 and [r["step"] for r in metrics_rows(cut)] == [2, 4]
    assert "time budget reached" in (cut / "command.txt").read_text()

    monkeypatch.undo()
    assert gan("train", "--resume", cut, "--set", "train.max_minutes=null").exit_code == 0
    assert_same_state(full, cut)
    assert without_timing(metrics_rows(cut)) == without_timing(metrics_rows(full))


def test_a_resume_past_its_budget_says_how_much_was_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    assert gan("train", config(tmp_path, 12), "--out", run).exit_code == 0
    ckpt = checkpoint.load(run)
    ckpt["schedule"]["elapsed"] = 40 * 60.0  # 40 minutes of training, 30 allowed
    del ckpt["path"]
    checkpoint.atomic_save(ckpt, run / "checkpoints" / "last.pt")
    result = gan("train", "--resume", run, "--set", "train.steps=20")
    assert result.exit_code == 1 and "trained 40.0 minutes already" in result.output


def test_pictures_and_selection_are_not_training_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock_now = [100.0]
    monkeypatch.setattr(run_mod.time, "perf_counter", lambda: clock_now[0])
    from gan_cli import config as config_mod
    from gan_cli import data

    cfg = config_mod.load(config(tmp_path, 12, minutes=1.0))
    trainer = Trainer(cfg, data.load(cfg), __import__("torch").device("cpu"))
    clock = run_mod._Clock(trainer)
    clock_now[0] += 50  # 50 s of training
    with clock.evaluating():
        clock_now[0] += 30  # 30 s drawing a picture
    assert clock.training_seconds() == 50 and not clock.over_budget()
    clock_now[0] += 10
    assert clock.over_budget()


@pytest.mark.slow
def test_the_time_budget_stops_every_rank_after_the_same_step(tmp_path: Path) -> None:
    import subprocess
    import sys

    from helpers import child_env

    cfg = write_config(
        tmp_path / "c.yaml",
        tiny_toy_config(train={**tiny_toy_config()["train"], "steps": 1_000_000, "max_minutes": 0.005}, log={**tiny_toy_config()["log"], "checkpoint_every": 1000}),
    )
    done = subprocess.run(
        [sys.executable, "-m", "gan_cli", "train", str(cfg), "--out", str(tmp_path / "run"), "--nproc", "2"],
        env=child_env(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "time budget reached" in done.stdout
    step = checkpoint.load(tmp_path / "run")["step"]
    assert 0 < step < 1_000_000
