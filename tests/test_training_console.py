"""gan_cli/training/console.py: the reporter of a training run."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from helpers import tiny_toy_config, write_exp
from rich.console import Console

from gan_cli.training.console import Reporter, clock

# a log row of metrics.jsonl without its step and clocks
ROW = {"step": 100, "epoch": 1.0, "value": -1.3, "d_real": 0.5, "d_fake": 0.5, "lr": 1e-3, "samples_per_s": 10.0}


def reporter_to_buffer(total_steps: int, budget_s: float | None = None) -> tuple[Reporter, io.StringIO]:
    """A reporter whose banner announced `total_steps` (and the time budget, where given), writing to a buffer."""
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, width=400))
    reporter.banner(Path("run"), torch.device("cpu"), 1, 1, 0, total_steps, "")
    reporter.budget_s = budget_s
    return reporter, buffer


def test_quiet_reporter_prints_nothing_while_training(tmp_path: Path) -> None:
    from helpers import train_experiment

    buffer = io.StringIO()
    cfg = write_exp(tmp_path, tiny_toy_config())
    train_experiment(str(cfg), [], out=str(tmp_path / "run"), reporter=Reporter(Console(file=buffer), quiet=True))
    assert buffer.getvalue() == "" and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


def test_log_lines_carry_the_time_so_far_the_eta_and_the_clock() -> None:
    import re

    reporter, buffer = reporter_to_buffer(1000)
    reporter.log_row({**ROW, "time": 10.0})
    reporter.log_row({**ROW, "step": 200, "time": 30.0})  # 100 steps in 20 s: 800 left take 160 s
    first, second = [line for line in buffer.getvalue().splitlines() if line.startswith("step")]
    assert "elapsed 0:00:10" in first and "ETA" not in first, "no rate before the second row"
    assert "elapsed 0:00:30  ETA 0:02:40" in second and re.search(r"at \d\d:\d\d:\d\d$", second)
    assert clock(3725) == "1:02:05"


def test_the_selection_signal_reaches_the_console(tmp_path: Path) -> None:
    from helpers import gan, write_config

    raw = tiny_toy_config(select={"every_epochs": 1, "kernels": 40, "valid_examples": 64})
    result = gan("train", write_config(tmp_path / "c.yaml", raw), "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("select")]
    assert lines and "validation Parzen" in lines[0] and "best so far: checkpoints/best.pt" in lines[0]


def test_the_eta_is_the_time_budget_s_when_that_ends_the_run_first() -> None:
    reporter, buffer = reporter_to_buffer(1_000_000, budget_s=60.0)
    reporter.log_row({**ROW, "time": 10.0})
    reporter.log_row({**ROW, "step": 200, "time": 20.0})  # a million steps would take hours; the budget ends in 40 s
    assert "ETA 0:00:40" in buffer.getvalue().splitlines()[-1]


def test_the_eta_counts_the_budget_in_training_time_and_says_it_in_wall_time() -> None:
    """train.max_minutes leaves model selection out: with 10 of every 40 wall seconds spent on it,
    a budget 30 training seconds from its end is 40 wall seconds away, not 0 (the run goes on)."""
    reporter, buffer = reporter_to_buffer(1_000_000, budget_s=60.0)
    reporter.log_row({**ROW, "time": 30.0, "training_time": 0.0})
    reporter.log_row({**ROW, "step": 200, "time": 70.0, "training_time": 30.0})  # wall past the budget
    last = buffer.getvalue().splitlines()[-1]
    assert "elapsed 0:01:10  ETA 0:00:40" in last
