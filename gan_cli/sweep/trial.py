"""One trial of a sweep: train an ordinary run directory, then `gan eval` it; return its result row.

This is what a Ray worker runs (and what benchmarks/sweep.py runs one after another); it imports
no Ray. Everything it needs travels in a plain dict, so any worker of a cluster can run it.
"""

from __future__ import annotations

import io
import shutil
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from gan_cli import checkpoint
from gan_cli.errors import GanError

OK, FAILED, INTERRUPTED = "ok", "failed", "interrupted"


def payload(trial_id: str, grid: dict[str, Any], seed: int, run_dir: Path, base_path: Path, overrides: list[str], device: str, cpus: float, prior_wall_s: float = 0.0) -> dict[str, Any]:
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


def row(p: dict[str, Any], status: str, error: str | None = None, metrics: dict[str, Any] | None = None, wall_s: float = 0.0, step: int | None = None, **extra: Any) -> dict[str, Any]:
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


def train_argv(p: dict[str, Any], resume: bool) -> list[str]:
    """The `gan train` command line that runs this trial by hand."""
    sets = [a for o in p["overrides"] for a in ("--set", o)]
    return ["gan", "train", p["base"], *sets, "--seed", str(p["seed"]), "--device", p["device"], "--out", p["run_dir"], *(["--resume"] if resume else [])]


def _prepare(run_dir: Path) -> bool:
    """True to resume from checkpoints/last.pt; a trial stopped before its first checkpoint starts over."""
    if (checkpoint.checkpoint_dir(run_dir) / "last.pt").is_file():
        return True
    if run_dir.exists():
        shutil.rmtree(run_dir)  # nothing trained was kept: config.yaml, command.txt, a few log rows
    return False


def _metric_values(result: dict[str, Any]) -> dict[str, float | None]:
    """eval.json's metrics as name -> value (None where the value is not a finite number)."""
    out: dict[str, float | None] = {}
    for name, rec in result.get("metrics", {}).items():
        value = rec.get("value") if isinstance(rec, dict) else None
        out[name] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return out


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, GanError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _cancellable() -> None:
    """Let Ray's cancel reach this trial outside the training loop too: Ray delivers it as a
    simulated SIGINT, which Python drops while SIGINT is ignored (a worker of a Ray started from a
    background job inherits that) or left at the OS default."""
    try:
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: Ray's cancel cannot interrupt it either way
        pass


def run_trial(p: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume) the trial's run directory with train_experiment, evaluate it (eval.json),
    and return its row. Threads follow the trial's CPUs (torch.set_num_threads). Never raises for
    a trial's own failure: a NaN stop or an exception becomes status failed with its error line; a
    signal (Ctrl-C, or Ray cancelling the task) becomes status interrupted after the checkpoint."""
    from gan_cli.evaluate.command import EvalOptions, evaluate_command
    from gan_cli.training.command import train_experiment
    from gan_cli.training.console import Reporter
    from gan_cli.training.run import Interrupted

    _cancellable()
    torch.set_num_threads(max(1, int(p["cpus"])))
    run_dir = Path(p["run_dir"])
    start = time.perf_counter()
    host = socket.gethostname()
    argv = sys.argv
    try:
        resume = _prepare(run_dir)
        sys.argv = train_argv(p, resume)  # command.txt records the `gan train` that repeats this trial
        train_experiment(
            p["base"], p["overrides"], out=str(run_dir), resume=resume, device=p["device"], seed=p["seed"],
            reporter=Reporter(Console(file=io.StringIO()), quiet=True),
        )
        result = evaluate_command(run_dir, EvalOptions(device_name=p["device"]), console=Console(file=io.StringIO()))
    except Interrupted as exc:
        return row(p, INTERRUPTED, f"interrupted by {exc.signal_name}; checkpoint written", wall_s=time.perf_counter() - start, host=host)
    except KeyboardInterrupt:
        return row(p, INTERRUPTED, "interrupted outside the training loop", wall_s=time.perf_counter() - start, host=host)
    except Exception as exc:  # noqa: BLE001 - a trial's failure is data; the sweep goes on
        extra = {} if isinstance(exc, GanError) else {"traceback": traceback.format_exc()}
        return row(p, FAILED, _error_line(exc), wall_s=time.perf_counter() - start, host=host, **extra)
    finally:
        sys.argv = argv
    return row(p, OK, None, _metric_values(result), time.perf_counter() - start, int(result["step"]), host=host, threads=torch.get_num_threads())
