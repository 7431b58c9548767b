"""Console output of `gan train`: a start banner, a progress bar (plain lines off a terminal), log lines."""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gan_cli import consoles
from gan_cli.objectives import LOG_4
from gan_cli.run_dir import RunDir


class Reporter:
    """Writes to a rich Console; plain text when the output is not a terminal."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or consoles.plain()
        self.quiet = quiet
        self.total: int | None = None  # the step budget, once the banner says it
        self.budget_s: float | None = None  # train.max_minutes, in seconds, where set
        self._last: tuple[int, float, float] | None = None  # (step, time, training_time) of the previous row

    def print(self, text: str) -> None:
        """Always printed (dry-run output, for one); the banner and log lines obey `quiet`."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def warn(self, text: str) -> None:
        """One line on stderr, printed even when quiet: something the user should know went wrong."""
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def banner(
        self,
        run_dir: Path,
        device: torch.device,
        g_params: int,
        d_params: int,
        start_step: int,
        total: int,
        note: str = "",
    ) -> None:
        """`note`: a third line, e.g. the processes and the global batch of a torchrun run."""
        if self.quiet:
            return
        self.total = total
        where = f"resuming at step {start_step:,} of {total:,}" if start_step else f"{total:,} steps"
        self.print(f"gan train: run directory {run_dir}")
        self.print(f"  device {device}; G {g_params:,} parameters, D {d_params:,} parameters; {where}")
        if note:
            self.print(f"  {note}")

    @contextlib.contextmanager
    def progress(self, total: int, start: int) -> Iterator[Callable[[int], None]]:
        if self.quiet or not self.console.is_terminal:
            yield lambda step: None
            return
        bar = Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        with bar:
            task = bar.add_task("train", total=total, completed=start)
            yield lambda step: bar.update(task, completed=step)

    def log_row(self, row: dict[str, Any]) -> None:
        """One line per log row; after the rate, the training time so far, the time left at the
        latest rate (ETA) and the clock, so a log written without a terminal (nohup, SLURM) tells
        how long the run has gone and has left."""
        eta = self._eta(row)
        if self.quiet:
            return
        self.print(
            f"step {row['step']:>8,}  epoch {row['epoch']:7.2f}  V {row['value']:+.4f} (equilibrium -log 4 = {-LOG_4:.4f})  "
            f"D(x) {row['d_real']:.3f}  D(G(z)) {row['d_fake']:.3f}  lr {row['lr']:.3g}  {row['samples_per_s']:,.0f} ex/s  "
            f"elapsed {clock(row['time'])}" + (f"  ETA {clock(eta)}" if eta is not None else "") + f"  at {now()}"
        )

    def _eta(self, row: dict[str, Any]) -> float | None:
        """Wall seconds left at the rate since the previous row (None before a rate is known).

        The budget (train.max_minutes) counts training time only, pictures and model selection
        left out, so the time it leaves is scaled by the window's wall seconds per training second:
        a run that spends a sixth of its wall time on selection ends a fifth later than its budget.
        """
        step, t = int(row["step"]), float(row["time"])
        trained = float(row.get("training_time", t))
        last, self._last = self._last, (step, t, trained)
        if last is None or self.total is None or step <= last[0] or t <= last[1]:
            return None
        by_steps = (self.total - step) * (t - last[1]) / (step - last[0])
        if self.budget_s is None:
            return by_steps
        wall_per_training_s = (t - last[1]) / (trained - last[2]) if trained > last[2] else 1.0
        return max(min(by_steps, (self.budget_s - trained) * wall_per_training_s), 0.0)

    def selection_row(self, row: dict[str, Any]) -> None:
        """The model-selection signal of an epoch (selection.jsonl's row) as one line."""
        if self.quiet:
            return
        raw = f", raw G {row['valid_parzen_raw']:.2f}" if isinstance(row.get("valid_parzen_raw"), (int, float)) else ""
        best = "  best so far: checkpoints/best.pt" if row.get("best") else ""
        self.print(
            f"select   epoch {row['epoch']:>5}  validation Parzen {row['valid_parzen']:.2f} nats (sigma {row['sigma']:.3g}{raw}){best}  at {now()}"
        )

    def done(self, run_dir: Path) -> None:
        if self.quiet:
            return
        run = RunDir(run_dir)
        self.print(f"done: {run_dir}  (samples in {run.samples}, checkpoint {run.last})")


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    s = max(int(round(seconds)), 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def now() -> str:
    """The wall clock, HH:MM:SS."""
    return datetime.datetime.now().strftime("%H:%M:%S")
