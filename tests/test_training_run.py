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
from gan_cli.training.running_clock import RunningClock


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


def seconds_by_step(monkeypatch: pytest.MonkeyPatch, per_step: float) -> None:
    """A training clock that reads `per_step` seconds per generator update done (no sleeps)."""
    monkeypatch.setattr(run_mod._Clock, "training_seconds", lambda self: self.trainer.step * per_step)


def rise_by_budget(tmp_path: Path, steps: int) -> Path:
    """The tiny run (8 steps an epoch) with its lr x4 from the end of the first epoch by which a
    quarter of its 2-minute budget has passed, ramped over two epochs."""
    rise = {"name": "linear", "start_epoch": 1, "end_epoch": 3, "final": 4.0, "start_at_budget": 0.25}
    train = {**tiny_toy_config()["train"], "steps": steps, "max_minutes": 2.0, "optimizer": {"name": "adam", "lr": 0.001, "lr_schedule": rise}}
    return write_config(tmp_path / f"budget{steps}.yaml", tiny_toy_config(train=train, log={**tiny_toy_config()["log"], "every": 1}))


def test_a_schedule_keyed_to_the_budget_starts_at_the_epoch_end_after_its_fraction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 s a step: a quarter of 120 s is reached at step 10, in epoch 2 (steps 9 to 16), so the rise
    starts at its end: lr0 through epoch 2, then lr0 (1 + 3 p) with p = 1/2 in epoch 3 and 1 from epoch 4."""
    seconds_by_step(monkeypatch, 3.0)
    run = tmp_path / "run"
    result = gan("train", rise_by_budget(tmp_path, 26), "--out", run)
    assert result.exit_code == 0, result.output
    note = "lr schedule started at the end of epoch 2: 0.8 of train.max_minutes 2 minutes of training (start_at_budget 0.25)"
    assert note in result.output and note in (run / "command.txt").read_text(encoding="utf-8")
    assert "the lr reaches 4 x lr0 in epoch 4" in result.output
    lrs = {r["step"]: r["lr"] for r in metrics_rows(run)}
    assert {lrs[s] for s in range(1, 17)} == {0.001}
    # a row's lr is its step's G update's, which comes after the step's batch: step 24's is epoch 4's
    assert [round(lrs[s], 9) for s in (17, 23, 24, 26)] == [0.0025, 0.0025, 0.004, 0.004]
    assert checkpoint.load(run)["schedule"]["budget_schedule_epoch"] == 2


@pytest.mark.parametrize("cut", [12, 17], ids=["cut-before-the-start", "cut-after-the-start"])
def test_a_schedule_keyed_to_the_budget_resumes_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: int) -> None:
    """The epoch it started in is kept in the checkpoint: a resume, before or after the start, ends
    where the uninterrupted run ends."""
    seconds_by_step(monkeypatch, 3.0)
    full, split = tmp_path / "full", tmp_path / "split"
    assert gan("train", rise_by_budget(tmp_path, 26), "--out", full).exit_code == 0
    assert gan("train", rise_by_budget(tmp_path, 26), "--out", split, "--set", f"train.steps={cut}").exit_code == 0
    result = gan("train", "--resume", split, "--set", "train.steps=26")
    assert result.exit_code == 0, result.output
    assert_same_state(full, split)
    assert without_timing(metrics_rows(split)) == without_timing(metrics_rows(full))


def test_a_resume_past_its_budget_says_how_much_was_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    assert gan("train", config(tmp_path, 12), "--out", run).exit_code == 0
    ckpt = checkpoint.load(run)
    ckpt["schedule"]["elapsed"] = 40 * 60.0  # 40 minutes of training, 30 allowed
    del ckpt["path"]
    checkpoint.atomic_save(ckpt, run / "checkpoints" / "last.pt")
    result = gan("train", "--resume", run, "--set", "train.steps=20")
    assert result.exit_code == 1 and "trained 40.0 minutes already" in result.output


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("elapsed", float("nan"), "schedule.elapsed is nan"),
        ("elapsed", -600.0, "schedule.elapsed is -600.0"),
        ("evaluation_s", float("inf"), "schedule.evaluation_s is inf"),
        ("evaluation_s", 1e9, "schedule.evaluation_s 1000000000.0 exceeds schedule.elapsed"),
        ("lr_scale", 0.0, "lr_scale must be positive and finite"),
        ("nan_rollbacks", -1, "nan_rollbacks and budget_schedule_epoch not negative"),
    ],
)
def test_a_damaged_schedule_in_last_pt_is_refused_before_training(tmp_path: Path, key: str, value: float, named: str) -> None:
    """A NaN elapsed time would have switched train.max_minutes off for the rest of the run, a
    negative one lengthened it: the resume names the field instead, and trains nothing."""
    run = tmp_path / "run"
    assert gan("train", config(tmp_path, 4), "--out", run).exit_code == 0
    ckpt = checkpoint.load(run)
    ckpt["schedule"][key] = value
    del ckpt["path"]
    checkpoint.atomic_save(ckpt, run / "checkpoints" / "last.pt")
    rows = (run / "metrics.jsonl").read_text()
    result = gan("train", "--resume", run, "--set", "train.steps=8")
    assert result.exit_code == 1 and "is damaged or does not match its config" in result.output and named in result.output
    assert (run / "metrics.jsonl").read_text() == rows


def test_pictures_and_selection_are_not_training_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock_now = [100.0]
    from gan_cli import config as config_mod
    from gan_cli import data

    cfg = config_mod.load(config(tmp_path, 12, minutes=1.0))
    trainer = Trainer(cfg, data.load(cfg), __import__("torch").device("cpu"))
    clock = run_mod._Clock(trainer, RunningClock(grace_s=1e9, now=lambda: clock_now[0]))
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
