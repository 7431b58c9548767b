"""`gan sweep SWEEP.yaml` and `gan sweep --resume SWEEP_DIR`: check every grid point, run the
trials on Ray (one ordinary run directory each), then write results.jsonl, summary.md and the figure.

SWEEP_DIR/
    sweep.yaml, base.yaml   the sweep as it runs (what --resume reads) and its base experiment
    <trial-id>/             one run directory per trial (train, then eval.json): every command reads it
    results.jsonl           one row per trial: grid values, seed, status, error, eval metrics, wall time
    summary.md, summary_<metric>.png   the table across seeds and the figure of the chosen metric
"""

from __future__ import annotations

import contextlib
import io
import shlex
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from gan_cli import consoles
from gan_cli.errors import GanError, Stopped
from gan_cli.run_dir import hold_lock
from gan_cli.sweep import directory, engine, results
from gan_cli.sweep import spec as spec_mod
from gan_cli.sweep.report import SUMMARY_FILE, report_files, write_report
from gan_cli.sweep.spec import SweepSpec, Trial
from gan_cli.sweep.trial import (
    FAILED,
    INTERRUPTED,
    OK,
    cancellable,
    error_line,
    metric_values,
    payload,
    prepare,
    progress,
    row,
    train_argv,
)

FINISHED = (OK, FAILED)  # --resume runs the other trials again (interrupted, or never started)


class SweepInterrupted(Stopped):
    """Ctrl-C / SIGTERM stopped the sweep; the running trials checkpointed. Exit 130."""

    def __init__(self, sweep_dir: Path, stopped: int, remaining: int) -> None:
        super().__init__(
            f"interrupted: {stopped} running trial(s) checkpointed, {remaining} trial(s) left\n"
            f"resume with: gan sweep --resume {shlex.quote(str(sweep_dir))}",
            130,
        )
        self.sweep_dir, self.stopped, self.remaining = sweep_dir, stopped, remaining


def _todo(
    spec: SweepSpec, trials: list[Trial], sweep_dir: Path, rows: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Payloads of the trials still to run; an interrupted one carries its wall time so far."""
    out = []
    for t in trials:
        prev = rows.get(t.trial_id)
        if prev is not None and prev.get("status") in FINISHED:
            continue
        prior = float(prev.get("wall_s") or 0.0) if prev is not None else 0.0
        out.append(
            payload(
                t.trial_id,
                t.grid,
                t.seed,
                sweep_dir / t.trial_id,
                sweep_dir / directory.BASE_FILE,
                spec.overrides(t.grid),
                spec_mod.trial_device(spec),
                spec.cpus,
                prior,
            )
        )
    return out


def _report_row(console: Console, counter: list[int], total: int) -> Any:
    def on_row(r: dict[str, Any]) -> None:
        counter[0] += 1
        head = f"[{counter[0]}/{total}] {r['trial']}: {r['status']} in {r.get('wall_s', 0):.1f} s"
        detail = f" ({str(r.get('error') or '').splitlines()[0]})" if r["status"] != OK and r.get("error") else ""
        console.print(head + detail, markup=False, highlight=False, soft_wrap=True)

    return on_row


def _read_spec(
    sweep_file: Path | None,
    out: Path | None,
    address: str | None,
    resume: Path | None,
    cpus: int | None,
    overrides: list[str],
) -> SweepSpec:
    """Check the arguments; load the sweep (a file, or SWEEP_DIR/sweep.yaml) and validate every grid point."""
    if (sweep_file is None) == (resume is None):
        raise GanError("give a SWEEP.yaml, or --resume with the sweep directory to continue")
    if cpus is not None and (cpus < 1 or address):
        raise GanError("--cpus: the CPUs a local Ray may use, >= 1 (a cluster given by --address has its own)")
    if resume is not None and out is not None:
        raise GanError("--out names a new sweep directory; with --resume the sweep directory is the argument")
    if resume is not None and overrides:
        raise GanError(
            "--set: a sweep directory keeps the overrides it started with (its sweep.yaml); start a new sweep for others"
        )
    spec = directory.open_sweep_dir(resume) if resume is not None else spec_mod.load(sweep_file)  # type: ignore[arg-type]
    spec = spec_mod.with_overrides(spec, overrides)
    spec_mod.validate(spec)
    if resume is None and out is not None:
        directory.check_out_free(out)
    return spec


def _run(
    console: Console,
    spec: SweepSpec,
    cluster: engine.Cluster,
    sweep_dir: Path,
    todo: list[dict[str, Any]],
    done: int,
    total: int,
) -> bool:
    """Run the trials still to do, appending each row to results.jsonl; True when Ctrl-C stopped them."""
    engine.check_fits(cluster, spec.cpus, spec.gpus, cluster.local)
    console.print(
        f"gan sweep {spec.name}: {len(todo)} of {total} trials to run ({len(spec.points())} grid points x {len(spec.seeds)} seeds) "
        f"on {cluster.where} ({cluster.cpus:g} CPUs, {cluster.gpus:g} GPUs; ready in {cluster.startup_s:.1f} s), "
        f"{spec.cpus:g} CPU(s) and {spec.gpus:g} GPU(s) per trial\n  sweep directory {sweep_dir}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    on_row = _report_row(console, [done], total)

    def record(r: dict[str, Any]) -> None:
        results.append(sweep_dir / results.RESULTS, r)
        on_row(r)

    def on_stop(running: int) -> None:
        console.print(
            f"\nstopping: {running} unfinished trial(s); the running ones write their checkpoints (Ctrl-C again quits at once)",
            markup=False,
            highlight=False,
        )

    started = time.monotonic()

    def on_wait(unfinished: list[dict[str, Any]]) -> None:
        where = [line for line in map(progress, unfinished) if line is not None]
        waiting = len(unfinished) - len(where)
        minutes = (time.monotonic() - started) / 60
        console.print(
            f"  {minutes:.0f} min: "
            + ", ".join(where or ["no trial has logged a step yet"])
            + (f"; {waiting} without a logged step yet" if where and waiting else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    return engine.run_trials(cluster, run_trial, todo, spec.cpus, spec.gpus, record, on_stop, on_wait)


@dataclass(frozen=True)
class SweepOptions:
    """The options of `gan sweep`."""

    sweep_file: Path | None
    """The sweep YAML; with `resume`, the sweep directory to continue."""
    out: Path | None = None
    address: str | None = None
    """auto | HOST:6379 | ray://HOST:10001; None: start a local Ray."""
    resume: bool = False
    cpus: int | None = None
    """CPUs the local Ray may use; None: all."""
    overrides: tuple[str, ...] = ()
    """KEY=VALUE config overrides of every trial (a new sweep only; they join its set:)."""


def sweep_command(options: SweepOptions, console: Console | None = None) -> Path:
    """Run (or, with `resume` = SWEEP_DIR, continue) a sweep; returns SWEEP_DIR.
    Raises GanError (bad input; or, after writing every result, trials that failed) and
    SweepInterrupted (Ctrl-C / SIGTERM, after the running trials checkpointed). A new sweep
    directory is made only once Ray is up, so no failed check or connection leaves one behind."""
    if options.resume and options.sweep_file is None:
        raise GanError("--resume needs the sweep directory: gan sweep --resume SWEEP_DIR")
    out, address, cpus = options.out, options.address, options.cpus
    sweep_file, resume = (None, options.sweep_file) if options.resume else (options.sweep_file, None)
    console = console or consoles.plain()
    spec = _read_spec(sweep_file, out, address, resume, cpus, list(options.overrides))
    engine.import_ray()
    engine.check_address(address)
    trials = spec.trials()
    stopped = False
    with contextlib.ExitStack() as stack:
        cluster = None
        if resume is None:
            cluster = stack.enter_context(engine.connect(address, cpus))
            sweep_dir = directory.new_sweep_dir(spec, out)
        else:
            sweep_dir = resume.resolve()
        stack.enter_context(
            hold_lock(sweep_dir / ".lock", "gan sweep", f"another gan sweep is running on {sweep_dir}:")
        )
        path = sweep_dir / results.RESULTS
        directory.check_files(sweep_dir, (results.RESULTS, *report_files(spec)))
        rows = results.latest(results.read(path))
        known = {t.trial_id for t in trials}
        kept = [rows[t.trial_id] for t in trials if rows.get(t.trial_id, {}).get("status") in FINISHED]
        directory.check_unchanged(spec, sweep_dir, len(kept))
        results.rewrite(path, kept + [r for i, r in rows.items() if i not in known and r.get("status") in FINISHED])
        todo = _todo(spec, trials, sweep_dir, rows)
        if todo:
            cluster = cluster or stack.enter_context(engine.connect(address, cpus))
            stopped = _run(console, spec, cluster, sweep_dir, todo, len(kept), len(trials))
        else:
            console.print(
                f"gan sweep {spec.name}: all {len(trials)} trials have finished; summarising",
                markup=False,
                highlight=False,
            )
    failures, figure = write_report(spec, sweep_dir, console)
    console.print(
        f"wrote {path}, {sweep_dir / SUMMARY_FILE}" + (f" and {figure}" if figure else ""),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if stopped:
        now = results.latest(results.read(path))
        remaining = sum(1 for t in trials if now.get(t.trial_id, {}).get("status") not in FINISHED)
        raise SweepInterrupted(sweep_dir, sum(1 for r in now.values() if r.get("status") == INTERRUPTED), remaining)
    if failures:
        raise GanError(
            f"{len(failures)} of {len(trials)} trials failed (their error lines are in {path} and {sweep_dir / SUMMARY_FILE}):",
            [f"{r['trial']}: {str(r.get('error') or '').splitlines()[0] if r.get('error') else ''}" for r in failures],
        )
    return sweep_dir


def run_trial(p: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume) the trial's run directory with `gan train`'s own code, evaluate it (eval.json),
    and return its row. Threads follow the trial's CPUs (torch.set_num_threads). Never raises for
    a trial's own failure: a NaN stop or an exception becomes status failed with its error line; a
    signal (Ctrl-C, or Ray cancelling the task) becomes status interrupted after the checkpoint."""
    from gan_cli.commands.eval import EvalOptions, evaluate_one
    from gan_cli.commands.train import train
    from gan_cli.training.console import Reporter
    from gan_cli.training.options import TrainOptions
    from gan_cli.training.run import Interrupted

    cancellable()
    torch.set_num_threads(max(1, int(p["cpus"])))
    run_dir = Path(p["run_dir"])
    start = time.perf_counter()
    host = socket.gethostname()
    try:
        resume = prepare(run_dir)
        options = TrainOptions(
            config=Path(p["base"]),
            overrides=tuple(p["overrides"]),
            out=run_dir,
            resume=resume,
            device=p["device"],
            seed=p["seed"],
            command_line=shlex.join(
                train_argv(p, resume)
            ),  # command.txt records the `gan train` that repeats this trial
        )
        train(options, Reporter(consoles.plain(file=io.StringIO()), quiet=True))
        result = evaluate_one(run_dir, EvalOptions(device=p["device"]), consoles.plain(file=io.StringIO()))
    except Interrupted as exc:
        return row(
            p,
            INTERRUPTED,
            f"interrupted by {exc.signal_name}; checkpoint written",
            wall_s=time.perf_counter() - start,
            host=host,
        )
    except KeyboardInterrupt:
        return row(
            p, INTERRUPTED, "interrupted outside the training loop", wall_s=time.perf_counter() - start, host=host
        )
    except Exception as exc:  # noqa: BLE001 - a trial's failure is data; the sweep goes on
        extra: dict[str, Any] = {} if isinstance(exc, GanError) else {"traceback": traceback.format_exc()}
        return row(p, FAILED, error_line(exc), wall_s=time.perf_counter() - start, host=host, **extra)
    return row(
        p,
        OK,
        None,
        metric_values(result),
        time.perf_counter() - start,
        int(result["step"]),
        host=host,
        threads=torch.get_num_threads(),
    )
