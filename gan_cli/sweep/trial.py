"""One trial of a sweep as plain data: its payload (what a Ray worker needs), its result row, and
the pieces of running it (gan_cli.commands.sweep.run_trial trains and evaluates). Imports no Ray."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any

from gan_cli import runlog
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir

OK, FAILED, INTERRUPTED = "ok", "failed", "interrupted"


def payload(
    trial_id: str,
    grid: dict[str, Any],
    seed: int,
    run_dir: Path,
    base_path: Path,
    overrides: list[str],
    device: str,
    cpus: float,
    prior_wall_s: float = 0.0,
) -> dict[str, Any]:
    """The plain-data description of one trial that `run_trial` takes (paths absolute)."""
    return {
        "trial": trial_id,
        "grid": grid,
        "seed": seed,
        "run_dir": str(run_dir.resolve()),
        "base": str(base_path.resolve()),
        "overrides": list(overrides),
        "device": device,
        "cpus": cpus,
        "prior_wall_s": prior_wall_s,
    }


def row(
    p: dict[str, Any],
    status: str,
    error: str | None = None,
    metrics: dict[str, Any] | None = None,
    wall_s: float = 0.0,
    step: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One results.jsonl row: grid values, seed, status, error line, eval metrics, wall time (s)."""
    return {
        "trial": p["trial"],
        "grid": p["grid"],
        "seed": p["seed"],
        "status": status,
        "error": error,
        "metrics": metrics or {},
        "wall_s": round(p.get("prior_wall_s", 0.0) + wall_s, 3),
        "step": step,
        **extra,
    }


def progress(p: dict[str, Any]) -> str | None:
    """Where an unfinished trial's training is ('seed=1 epoch 30.0'), from the last row of its
    metrics.jsonl; None before its first row (queued, or still loading its data)."""
    rows = runlog.read_rows(RunDir(Path(p["run_dir"])).metrics)
    return f"{p['trial']} epoch {float(rows[-1]['epoch']):g}" if rows else None


def train_argv(p: dict[str, Any], resume: bool) -> list[str]:
    """The `gan train` command line that runs this trial by hand."""
    sets = [a for o in p["overrides"] for a in ("--set", o)]
    return [
        "gan",
        "train",
        p["base"],
        *sets,
        "--seed",
        str(p["seed"]),
        "--device",
        p["device"],
        "--out",
        p["run_dir"],
        *(["--resume"] if resume else []),
    ]


def prepare(run_dir: Path) -> bool:
    """True to resume from checkpoints/last.pt; a trial stopped before its first checkpoint starts over."""
    if RunDir(run_dir).has_checkpoint():
        return True
    if run_dir.exists():
        shutil.rmtree(run_dir)  # nothing trained was kept: config.yaml, command.txt, a few log rows
    return False


def metric_values(result: dict[str, Any]) -> dict[str, float | None]:
    """eval.json's metrics as name -> value (None where the value is not a finite number)."""
    out: dict[str, float | None] = {}
    for name, rec in result.get("metrics", {}).items():
        value = rec.get("value") if isinstance(rec, dict) else None
        out[name] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return out


def error_line(exc: BaseException) -> str:
    if isinstance(exc, GanError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def cancellable() -> None:
    """Let Ray's cancel reach this trial outside the training loop too: Ray delivers it as a
    simulated SIGINT, which Python drops while SIGINT is ignored (a worker of a Ray started from a
    background job inherits that) or left at the OS default."""
    try:
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: Ray's cancel cannot interrupt it either way
        pass
