"""Exact resume: 2N steps == N steps + resume N, bit for bit on the CPU; what a resume may change."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import torch
from helpers import (
    UPDATE_SCHEMES,
    metrics_rows,
    toy_config,
    without_timing,
    write_config,
)
from typer.testing import CliRunner

from gan_cli import checkpoint
from gan_cli.cli import app
from helpers import train_experiment
from gan_cli.training.console import Reporter
from gan_cli.training.run import Interrupted
import stat
import subprocess
import sys
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir

runner = CliRunner()

# 160 examples / batch 32 = 5 batches per epoch: N = 4 generator steps stops mid-epoch for every
# scheme below, and 2N crosses at least one epoch boundary (a fresh permutation from the saved generator)
UPDATES = UPDATE_SCHEMES
N = 4


class QuietReporter(Reporter):
    """No console output; optional hooks at each logged row and each finished step."""

    def __init__(self, on_row: Callable[[dict[str, Any]], None] | None = None, on_step: Callable[[int], None] | None = None) -> None:
        super().__init__(quiet=True)
        self.on_row, self.on_step = on_row, on_step

    def banner(self, *args: Any) -> None:
        pass

    def done(self, run_dir: Path) -> None:
        pass

    def log_row(self, row: dict[str, Any]) -> None:
        if self.on_row:
            self.on_row(row)

    @contextmanager
    def progress(self, total: int, start: int) -> Iterator[Callable[[int], None]]:
        yield self.on_step or (lambda step: None)


def config(tmp_path: Path, update: str, steps: int, **log: Any) -> Path:
    train = {**toy_config()["train"], **UPDATES[update], "steps": steps}
    cfg = toy_config(data={"train_size": 160}, train=train, log={**toy_config()["log"], **log})
    return write_config(tmp_path / f"{update}-{steps}.yaml", cfg)


def train(cfg: Path | None, out: Path, *overrides: str, resume: bool = False, reporter: Reporter | None = None) -> Path:
    result = train_experiment(str(cfg) if cfg else None, list(overrides), out=str(out), resume=resume, reporter=reporter or QuietReporter())
    assert result == out
    return out


def assert_same_state(a: Path, b: Path) -> None:
    ca, cb = checkpoint.load(a), checkpoint.load(b)
    assert ca["step"] == cb["step"]
    for net in ("generator", "discriminator"):
        assert ca[net].keys() == cb[net].keys()
        for name in ca[net]:
            assert torch.equal(ca[net][name], cb[net][name]), f"{net}.{name} differs"
    for opt in ("opt_g", "opt_d"):
        for pid, state in ca[opt]["state"].items():
            for key, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(cb[opt]["state"][pid][key])), f"{opt} {pid} {key}"
    assert torch.equal(ca["rng"]["torch"], cb["rng"]["torch"])
    assert ca["data_order"]["epoch"] == cb["data_order"]["epoch"] and ca["data_order"]["position"] == cb["data_order"]["position"]


@pytest.mark.parametrize("update", list(UPDATES))
def test_two_n_steps_equal_n_steps_resumed_for_n_more(tmp_path: Path, update: str) -> None:
    full = train(config(tmp_path, update, 2 * N), tmp_path / "full")
    half = train(config(tmp_path, update, N), tmp_path / "half")
    order = checkpoint.load(half)["data_order"]
    assert 0 < order["position"] < 5, "the resume point must fall inside an epoch"
    assert checkpoint.load(full)["data_order"]["epoch"] >= 1, "the full run must cross an epoch boundary"

    # `gan train --resume RUN_DIR` (no CONFIG) with a larger budget
    result = runner.invoke(app, ["train", "--resume", str(half), "--set", f"train.steps={2 * N}"])
    assert result.exit_code == 0, result.output

    assert_same_state(full, half)
    assert without_timing(metrics_rows(half)) == without_timing(metrics_rows(full))
    assert [r["step"] for r in metrics_rows(half)] == list(range(2, 2 * N + 1, 2))


def test_resume_across_an_epoch_boundary_with_a_two_batch_epoch(tmp_path: Path) -> None:
    """64 examples / 32 = 2 batches per epoch: the resumed half runs through several new permutations."""
    raw = toy_config(data={"train_size": 64}, train={**toy_config()["train"], "steps": 3}, log={**toy_config()["log"], "every": 1})
    write_config(tmp_path / "short.yaml", raw)
    write_config(tmp_path / "long.yaml", {**raw, "train": {**raw["train"], "steps": 9}})
    full = train(tmp_path / "long.yaml", tmp_path / "full")
    half = train(tmp_path / "short.yaml", tmp_path / "half")
    order = checkpoint.load(half)["data_order"]
    assert (order["epoch"], order["position"]) == (1, 1), "3 batches: one full epoch and one batch into the next"
    train(tmp_path / "long.yaml", half, resume=True)
    assert_same_state(full, half)
    assert without_timing(metrics_rows(half)) == without_timing(metrics_rows(full))


def test_resume_after_an_interrupt_between_log_rows_is_exact(tmp_path: Path) -> None:
    """The checkpoint taken at a signal mid log window carries the window's sums: the rows still match."""
    full = train(config(tmp_path, "alternating-k1", 2 * N), tmp_path / "full")

    def interrupt_at_3(step: int) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted) as info:
        train(config(tmp_path, "alternating-k1", 2 * N), tmp_path / "cut", reporter=QuietReporter(on_step=interrupt_at_3))
    assert info.value.ckpt_path == tmp_path / "cut" / "checkpoints" / "last.pt"
    assert checkpoint.load(info.value.ckpt_path)["step"] == 3, "checkpoints at the first step boundary after the signal"
    train(None, tmp_path / "cut", resume=True)
    assert_same_state(full, tmp_path / "cut")
    assert without_timing(metrics_rows(tmp_path / "cut")) == without_timing(metrics_rows(full))


class SimulatedCrash(Exception):
    pass


def test_metrics_continue_without_duplicates_after_a_crash_between_a_row_and_a_checkpoint(tmp_path: Path) -> None:
    cfg = config(tmp_path, "alternating-k1", 12, every=2, checkpoint_every=3)
    full = train(cfg, tmp_path / "full")

    def crash_at_8(row: dict[str, Any]) -> None:
        if row["step"] == 8:
            raise SimulatedCrash

    run = tmp_path / "crashed"
    with pytest.raises(SimulatedCrash):
        train(cfg, run, reporter=QuietReporter(on_row=crash_at_8))
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"step": 10, "epoch": 1.2, "val')  # a row torn by the crash
    assert [r["step"] for r in metrics_rows(run, complete_only=True)] == [2, 4, 6, 8]
    assert checkpoint.load(run)["step"] == 6, "rows 7..8 were logged after the last checkpoint"

    train(cfg, run, resume=True)
    steps = [r["step"] for r in metrics_rows(run)]
    assert steps == [2, 4, 6, 8, 10, 12], "no duplicated or missing step"
    assert without_timing(metrics_rows(run)) == without_timing(metrics_rows(full))
    assert_same_state(full, run)


def test_changing_the_budget_and_log_intervals_on_resume_is_allowed_and_noted(tmp_path: Path) -> None:
    run = train(config(tmp_path, "alternating-k1", N), tmp_path / "run")
    result = runner.invoke(app, ["train", "--resume", str(run), "--set", "train.steps=6", "--set", "log.every=3"])
    assert result.exit_code == 0, result.output
    assert checkpoint.load(run)["step"] == 6
    note = (run / "command.txt").read_text()
    assert "resumed from step 4" in note and "train.steps: 4 -> 6" in note and "log.every: 2 -> 3" in note
    assert [r["step"] for r in metrics_rows(run)] == [2, 4, 6]


@pytest.mark.parametrize(
    "override, expected",
    [
        ("generator.hidden=[{units: 16, activation: relu}]", "generator.hidden"),
        ("train.batch_size=16", "train.batch_size: 32 -> 16"),
        ("data.std=0.7", "data.std: 0.5 -> 0.7"),
        ("train.optimizer.lr=0.01", "train.optimizer.lr: 0.001 -> 0.01"),
    ],
)
def test_changing_the_model_or_data_on_resume_is_refused_listing_the_differences(tmp_path: Path, override: str, expected: str) -> None:
    cfg = config(tmp_path, "alternating-k1", N)
    run = train(cfg, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["train", str(cfg), "--out", str(run), "--resume", "--set", override, "--set", "train.steps=8"])
    assert result.exit_code == 1
    assert "--resume: the config differs" in result.output and expected in result.output
    assert "train.steps" not in result.output, "allowed changes are not listed as refused"
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before, "nothing was written"


def test_a_resume_budget_below_the_checkpoint_step_is_refused_before_writing(tmp_path: Path) -> None:
    run = train(config(tmp_path, "alternating-k1", N), tmp_path / "run")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["train", "--resume", str(run), "--set", "train.steps=2"])
    assert result.exit_code == 1
    assert "the run is at step 4, past the budget of 2 steps" in result.stderr
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before, "config.yaml still says what ran"


def test_resume_needs_a_run_with_a_checkpoint(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--resume"])
    assert result.exit_code == 1 and "give a CONFIG.yaml, or --resume with the run directory" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["train", "--resume", str(empty)])
    assert result.exit_code == 1 and "has no config.yaml" in result.output
    run = train(config(tmp_path, "alternating-k1", N), tmp_path / "run")
    (run / "checkpoints" / "last.pt").unlink()
    steps = sorted((run / "checkpoints").glob("step_*.pt"))
    assert steps, "the run keeps step checkpoints"
    result = runner.invoke(app, ["train", "--resume", str(run)])  # last.pt gone, its step files there
    assert result.exit_code == 1
    assert f"last.pt does not exist, but {steps[-1]} (step " in result.output and "copy it to last.pt" in result.output
    for step in steps:
        step.unlink()
    result = runner.invoke(app, ["train", "--resume", str(run)])  # no checkpoint at all: a failed start
    assert result.exit_code == 1 and "so there is nothing to resume" in result.output


def test_an_existing_non_empty_out_without_resume_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path, "alternating-k1", N)
    run = train(cfg, tmp_path / "run")
    before = (run / "metrics.jsonl").read_bytes()
    result = runner.invoke(app, ["train", str(cfg), "--out", str(run)])
    assert result.exit_code == 1 and "exists and is not empty" in result.output and "--resume" in result.output
    assert (run / "metrics.jsonl").read_bytes() == before


# ---- hostile inputs: a resume that would drop G's average


def test_a_resume_never_drops_g_s_average_silently(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(train={**tiny_toy_config()["train"], "ema": {"decay": 0.9}}))
    run = tmp_path / "run"
    assert gan("train", cfg, "--out", run).exit_code == 0
    result = gan("train", "--resume", run, "--set", "train.ema.decay=null", "--set", "train.steps=16")
    assert result.exit_code == 1 and "train.ema.decay" in result.output and "moving average" in result.output
    assert gan("train", "--resume", run, "--set", "train.ema.decay=0.8", "--set", "train.steps=16").exit_code == 0


# ---------------------------------------------------------------- a learning-rate decay added on resume

LINEAR = ["train.optimizer.lr_schedule.name=linear", "train.optimizer.lr_schedule.end_epoch=4", "train.optimizer.lr_schedule.final=0.25"]


def test_a_decay_that_starts_after_the_checkpoint_may_be_added_on_resume_and_is_exact(tmp_path: Path) -> None:
    """A run stopped in epoch 1 and resumed with a linear decay from epoch 2 is, step for step, the
    run trained with that decay from step 0 (the schedules agree on every update so far)."""
    decay = [*LINEAR, "train.optimizer.lr_schedule.start_epoch=1"]
    full = train(config(tmp_path, "alternating-k1", 3 * N), tmp_path / "full", *decay)
    half = train(config(tmp_path, "alternating-k1", N), tmp_path / "half")
    assert checkpoint.load(half)["epoch"] < 1.0, "the checkpoint lies inside epoch 1"
    args = ["train", "--resume", str(half), "--set", f"train.steps={3 * N}"]
    result = runner.invoke(app, [*args, *(a for o in decay for a in ("--set", o))])
    assert result.exit_code == 0, result.output
    assert_same_state(full, half)
    assert "train.optimizer.lr_schedule.name: 'constant' -> 'linear' (the same lr for every update so far)" in RunDir(half).command_log.read_text()
    lrs = [row["lr"] for row in metrics_rows(half)]
    assert lrs[0] == lrs[1] > lrs[-1], "the decay took effect after the resume"


def test_a_schedule_change_that_rewrites_past_updates_is_still_refused(tmp_path: Path) -> None:
    run = train(config(tmp_path, "alternating-k1", 2 * N), tmp_path / "run")
    assert checkpoint.load(run)["epoch"] > 1.0, "the checkpoint lies in epoch 2"
    for change in ([*LINEAR, "train.optimizer.lr_schedule.start_epoch=1"], ["train.optimizer.lr_schedule.name=exponential"]):
        before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
        args = ["train", "--resume", str(run), "--set", f"train.steps={3 * N}", *(a for o in change for a in ("--set", o))]
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and "train.optimizer.lr_schedule.name" in result.output, result.output
        assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_resuming_a_checkpoint_written_before_a_key_existed_lists_no_change(tmp_path: Path) -> None:
    run = train(config(tmp_path, "alternating-k1", N), tmp_path / "run")
    ckpt = checkpoint.load(run / "checkpoints" / "last.pt")
    for key in ("start_epoch", "end_epoch", "final"):
        del ckpt["config"]["train"]["optimizer"]["lr_schedule"][key]
    torch.save(ckpt, run / "checkpoints" / "last.pt")
    result = runner.invoke(app, ["train", "--resume", str(run), "--set", f"train.steps={2 * N}"])
    assert result.exit_code == 0, result.output
    assert "lr_schedule" not in RunDir(run).command_log.read_text()
