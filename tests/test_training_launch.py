"""gan_cli/training/launch.py: the launcher forwards every option; and `gan train --nproc 2` on the
CPU when things go wrong: a killed rank, Ctrl-C, SIGTERM.

A rank killed with SIGKILL: the launcher stops the other within seconds, says which rank died and
where the last checkpoint is, exits 1, and that checkpoint loads and resumes (with one process).
SIGINT or SIGTERM on the launcher: every rank stops after the same step, rank 0 writes one
checkpoint, the launcher exits 130 and no rank is left running. Every wait is bounded and reads
the launcher's output (rank 0's lines) instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import time
from pathlib import Path
from typing import Callable

import pytest
import typer
from helpers import (
    Child,
    child_pids,
    gan,
    is_running,
    metrics_rows,
    process_env,
    toy_config,
    write_config,
)

from gan_cli import checkpoint
from gan_cli.cli import app
from gan_cli.training.launch import worker_argv
from gan_cli.training.options import TrainOptions

LONG = 1_000_000  # steps: far more than a test lets run
STOP_WITHIN_S = 20.0  # from the kill to the launcher's exit, on a loaded 2-core machine (about 3 s idle)


def start(tmp_path: Path) -> tuple[Child, Path]:
    cfg = toy_config(train={**toy_config()["train"], "steps": LONG}, log={**toy_config()["log"], "every": 1, "checkpoint_every": 2})
    run = tmp_path / "run"
    return Child(["train", str(write_config(tmp_path / "long.yaml", cfg)), "--nproc", "2", "--out", str(run)], cwd=tmp_path), run


def workers(launcher: int, timeout: float = 60.0) -> dict[int, int]:
    """rank -> pid of the launcher's worker processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {}
        for pid in child_pids(launcher):
            try:
                env = process_env(pid)
            except OSError:
                continue
            if "RANK" in env:
                found[int(env["RANK"])] = pid
        if len(found) == 2:
            return found
    raise AssertionError(f"the launcher {launcher} did not start 2 workers within {timeout} s")


def step_at_least(n: int) -> Callable[[str], bool]:
    """A predicate for Child.wait_for_line: a log line of step n or later."""

    def seen(line: str) -> bool:
        match = re.match(r"step\s+([\d,]+)", line)
        return match is not None and int(match.group(1).replace(",", "")) >= n

    return seen


def none_running(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(is_running(p) for p in pids):
        if time.monotonic() > deadline:
            return False
    return True


@pytest.mark.slow
def test_a_killed_rank_stops_the_other_within_seconds_and_the_last_checkpoint_resumes(tmp_path: Path) -> None:
    child, run = start(tmp_path)
    try:
        child.wait_for_line(step_at_least(4))  # a checkpoint (every 2 steps) exists
        ranks = workers(child.proc.pid)
        killed_at = time.monotonic()
        ranks_pids = list(ranks.values())
        os.kill(ranks[1], signal.SIGKILL)
        assert child.wait(timeout=120) == 1
        took = time.monotonic() - killed_at
    finally:
        child.kill()
    assert took < STOP_WITHIN_S, f"the launcher took {took:.1f} s to stop"
    assert none_running(ranks_pids), "no rank outlives the launcher"
    err = child.stderr()
    assert "Traceback" not in err and "terminate called" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert f"rank 1 (pid {ranks[1]}) was killed by SIGKILL" in lines[0]
    assert f"resume with gan train --resume {run} --nproc 2" in lines[0]
    step = checkpoint.load(run)["step"]
    assert step >= 2
    # a checkpoint of 2 processes resumes with 1 (the data order restarts at the epoch boundary)
    result = gan("train", "--resume", run, "--set", f"train.steps={step + 2}")
    assert result.exit_code == 0, result.output
    assert checkpoint.load(run)["step"] == step + 2
    assert "the data order restarts at the epoch boundary" in (run / "command.txt").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR1], ids=["SIGINT", "SIGTERM", "SIGUSR1"])
def test_a_signal_on_the_launcher_writes_one_checkpoint_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    child, run = start(tmp_path)
    try:
        child.wait_for_line(step_at_least(2))
        ranks_pids = list(workers(child.proc.pid).values())
        child.signal(sig)
        assert child.wait(timeout=120) == 130
    finally:
        child.kill()
    assert none_running(ranks_pids), "no rank outlives the launcher"
    err = child.stderr()
    last = run / "checkpoints" / "last.pt"
    assert err.count("interrupted by") == 1, err
    assert f"interrupted by {sig.name}: checkpoint written to {last}" in err
    assert f"resume with: gan train --resume {run} --nproc 2" in err
    assert "Traceback" not in err and "terminate called" not in err and "error:" not in err, err
    step = checkpoint.load(last)["step"]
    logged = [r["step"] for r in metrics_rows(run, complete_only=True)]
    assert logged == list(range(1, step + 1)), "one row per step, by rank 0 alone, up to the checkpoint"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == sorted(["last.pt", f"step_{step:07d}.pt"])


# ---------------------------------------------------------------- no processes


def test_the_launcher_forwards_every_option_of_gan_train_but_nproc() -> None:
    """The workers get the whole options object: every field but nproc arrives as given, and every
    option of `gan train` is a field of it (so none can be forgotten on the way)."""
    given = TrainOptions(Path("c.yaml"), ("train.steps=3", "seed=2"), Path("out"), True, "cpu", 3, True, 4, "gan train c.yaml --nproc 4")
    args = worker_argv(given)
    assert args[:4] == ["-m", "gan_cli", "train", "--worker-options"]
    assert TrainOptions.from_json(args[4]) == dataclasses.replace(given, nproc=None)
    fields = {f.name for f in dataclasses.fields(TrainOptions)}
    train = typer.main.get_command(app).commands["train"]
    for param in train.params:
        if param.name not in ("help", "worker_options"):
            assert {"set_": "overrides", "dry_run": "dry_run"}.get(param.name, param.name) in fields, f"gan train {param.name} is not in TrainOptions"
