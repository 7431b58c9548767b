"""The run around the Trainer: it owns every cadence (log rows, model selection, checkpoints,
pictures, progress) and takes one `RunHooks`; it turns SIGINT/SIGTERM into one last checkpoint,
and a NaN into a stop or a rollback (training/nan_guard.py decides). Several processes plug in as
`processes` (training/ranks.py): only the writing one writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gan_cli import checkpoint, optim, runlog, stdout_guard, stop_signals
from gan_cli.errors import Stopped
from gan_cli.run_dir import RunDir
from gan_cli.training import nan_guard
from gan_cli.training.loop import Trainer
from gan_cli.training.nan_guard import NonFiniteError
from gan_cli.training.running_clock import RunningClock

BUDGET = "BUDGET"
"""What `OneProcess.stop` returns when train.max_minutes of training time have passed."""


class Interrupt:
    """The stop signals (gan_cli/stop_signals.py: Ctrl-C, SIGTERM, SIGHUP, SIGXCPU, a scheduler's
    SIGUSR1 or SIGUSR2): the first asks the loop to checkpoint and stop; a second exits at once.

    A repeat within `repeat_s` seconds of the first counts as the first (several processes: a
    scheduler may signal every process, and torchrun passes its own signal on again), and so do
    the kernel's repeats of SIGXCPU."""

    def __init__(self, repeat_s: float = 0.0) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}
        self.repeat_s, self._first_at = repeat_s, 0.0

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and time.monotonic() - self._first_at < self.repeat_s:
            return
        if self.requested is not None and signum == stop_signals.REPEATED_BY_THE_KERNEL:
            return
        if self.requested is not None:
            # second signal: leave now; atomic writes mean no file is left half-written
            os.write(2, b"\ninterrupted again: exiting at once; checkpoints/last.pt is the last completed checkpoint\n")
            os._exit(130)
        self.requested = signal.Signals(signum).name
        self._first_at = time.monotonic()

    def __enter__(self) -> Interrupt:
        self._previous = stop_signals.install(self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        requested = getattr(signal, self.requested or "", None)
        if requested == stop_signals.REPEATED_BY_THE_KERNEL and requested in self._previous:
            self._previous[requested] = signal.SIG_IGN  # the run is ending anyway
        stop_signals.restore(self._previous)


class Interrupted(Stopped):
    """Training stopped on a signal after writing a checkpoint: exit 130 with the resume command."""

    def __init__(self, signal_name: str, ckpt_path: Path, resume_flags: str = "") -> None:
        where = shlex.quote(str(ckpt_path.parent.parent))  # checkpoints/last.pt's run directory
        why = f"interrupted by {signal_name}"
        if signal_name == stdout_guard.STOP_NAME:
            why = f"stopped: standard output was closed ({stdout_guard.closed_reason() or 'in another process'})"
        super().__init__(
            f"{why}: checkpoint written to {ckpt_path}\nresume with: gan train --resume {where}{resume_flags}",
            130,
        )
        self.signal_name = signal_name
        self.ckpt_path = ckpt_path


def save_checkpoint(trainer: Trainer, run_dir: Path, keep: int, write: bool = True) -> Path:
    """Write last.pt atomically; keep a periodic step_NNNNNNN.pt too (a hard link: no second write).

    Raises NonFiniteError, writing nothing, when a weight, optimizer state or pending loss is NaN/inf.
    With `write` False (a process of several that is not rank 0) it checks the same, writes nothing.
    """
    watched = nan_guard.watched_tensors(trainer.G, trainer.D, trainer.opt_g, trainer.opt_d, trainer.acc.sums)
    nan_guard.check_finite(watched, trainer.device, trainer.step, nan_guard.last_good(trainer.last_saved_step, run_dir))
    run = RunDir(run_dir)
    last = run.last
    if not write:  # rank 0 writes it; this rank made the same NaN check, so every rank decides alike
        trainer.last_saved_step = trainer.step
        return last
    state = trainer.state_dict()
    checkpoint.atomic_save(state, last)
    trainer.last_saved_step = trainer.step
    if keep > 0:
        target = run.step_checkpoint(trainer.step)
        tmp = target.with_name(f".{target.name}.link")
        try:
            if tmp.exists():
                tmp.unlink()
            os.link(last, tmp)
            os.replace(tmp, target)
        except OSError:
            checkpoint.atomic_save(state, target)
        run.prune(keep)
    return last


class OneProcess:
    """The processes that train a run, as `run` sees them: here this one alone.

    gan_cli.training.ranks.Ranks stands in for several (torchrun): only rank 0 writes the
    run's files, and every rank stops after the same step when one of them is signalled.
    """

    writes = True  # this process writes metrics.jsonl and the checkpoints
    resume_flags = ""  # what `gan train --resume RUN_DIR` needs besides, to run these processes again
    repeat_signal_s = 0.0  # a signal repeated within this many seconds counts once (see Interrupt)

    def stop(self, requested: str | None) -> str | None:
        """Called after every step with this process's pending signal name (or BUDGET); the reason
        to stop on now."""
        return requested

    def agree_seconds(self, seconds: float) -> float:
        """The training seconds every process goes by (called at the same step on each): here its own."""
        return seconds


@dataclass(frozen=True)
class RunHooks:
    """What `run` calls back as training goes; each is optional. The loop decides when, from the
    config's log.* cadences; a hook only does its work."""

    on_log: Callable[[dict[str, Any]], None] | None = None
    """With each metrics row, once it is in metrics.jsonl (every log.every steps and at the end)."""
    on_samples: Callable[[Trainer], None] | None = None
    """Every log.samples_every steps and at the end (for the picture of G's fixed-noise samples)."""
    on_select: Callable[[Trainer], None] | None = None
    """After a step that completes an epoch divisible by select.every_epochs (off at 0), before
    that step's checkpoint (model selection)."""
    on_progress: Callable[[int], None] | None = None
    """After every step, with the step, once any checkpoint due at it is written."""
    on_rollback: Callable[[str], None] | None = None
    """After a train.nan_policy rollback, with a one-line note of what happened."""
    on_budget: Callable[[int, float], None] | None = None
    """When train.max_minutes stopped the run, after its checkpoint: the step and the training minutes."""
    on_schedule_start: Callable[[int, float], None] | None = None
    """When lr_schedule.start_at_budget started the lr schedule: the epoch at whose end, and the training minutes."""
    on_stopped: Callable[[float], None] | None = None
    """At a log row after the process was stopped (Ctrl-Z, SIGSTOP, a suspended job): the seconds it
    stood still since the last row, which no clock of the run counts."""


def run(
    trainer: Trainer,
    run_dir: Path,
    total_steps: int,
    hooks: RunHooks | None = None,
    processes: OneProcess | None = None,
) -> dict[str, Any] | None:
    """Train until `total_steps` generator updates, logging, drawing and checkpointing as configured.

    Returns the last metrics row. On SIGINT/SIGTERM: finishes the step, checkpoints, raises Interrupted.
    A NaN/inf found at a log row or before a checkpoint raises NonFiniteError (train.nan_policy stop)
    or rolls back to last.pt with a smaller lr (rollback). No checkpoint holding NaN is ever written.
    `processes` (default: this one alone) says whether this process writes and when all stop.
    """
    hooks = hooks or RunHooks()
    processes = processes or OneProcess()
    log = trainer.cfg.log
    last_row: dict[str, Any] | None = None
    with Interrupt(processes.repeat_signal_s) as interrupt, RunningClock() as running:
        while True:  # once, and again after each NaN rollback (metrics.jsonl is rewritten by it)
            try:
                with open(
                    RunDir(run_dir).metrics if processes.writes else os.devnull, "a", encoding="utf-8"
                ) as metrics:
                    clock = _Clock(trainer, running)
                    while trainer.step < total_steps:
                        trainer.train_step()
                        step = trainer.step
                        done = step >= total_steps
                        if step % log.every == 0 or done:
                            last_row = clock.log_row(metrics, run_dir)
                            if hooks.on_log:
                                hooks.on_log(last_row)
                            stood_still = clock.stopped_since_last_look()
                            if stood_still and hooks.on_stopped:
                                hooks.on_stopped(stood_still)
                        epoch_ended = clock.epoch_ended()
                        if epoch_ended:
                            _start_budget_schedule(trainer, clock, processes, hooks)
                        if epoch_ended and clock.selection_due() and hooks.on_select:
                            with clock.evaluating():
                                hooks.on_select(trainer)
                        # the checkpoint comes before the picture: a picture must never cost a checkpoint
                        if step % log.checkpoint_every == 0 or done:
                            clock.checkpoint(run_dir, processes.writes)
                        if hooks.on_samples and (step % log.samples_every == 0 or done):
                            with clock.evaluating():
                                hooks.on_samples(trainer)
                        if hooks.on_progress:
                            hooks.on_progress(step)
                        # every step, on every rank: a signal, a closed stdout or the time budget stops all after the same step
                        stop = processes.stop(
                            interrupt.requested
                            or stdout_guard.stop_request()
                            or (BUDGET if clock.over_budget() else None)
                        )
                        if stop == BUDGET and not done:
                            # the log window in progress is saved with the checkpoint: a resume logs the rows an uninterrupted run would
                            if trainer.last_saved_step != step:
                                clock.checkpoint(run_dir, processes.writes)
                            if hooks.on_budget:
                                hooks.on_budget(step, clock.training_seconds() / 60)
                            return last_row
                        if stop and not done:
                            raise Interrupted(stop, clock.checkpoint(run_dir, processes.writes), processes.resume_flags)
                return last_row
            except NonFiniteError as exc:
                if interrupt.requested:
                    raise
                spent = clock.spent()
                _roll_back(trainer, run_dir, exc, hooks, processes.writes)
                # the steps rolled back were trained all the same: their time stays spent (train.max_minutes)
                trainer.elapsed, trainer.evaluation_s = spent


def _start_budget_schedule(trainer: Trainer, clock: _Clock, processes: OneProcess, hooks: RunHooks) -> None:
    """At the end of an epoch: start a schedule keyed to the time budget (lr_schedule.start_at_budget)
    once that fraction of train.max_minutes has passed; from the next epoch on the lr follows it.
    Every process decides on the same clock (the slowest's), so their learning rates never part."""
    opt = trainer.cfg.train.optimizer
    if opt.lr_schedule.start_at_budget is None or trainer.budget_schedule_epoch is not None:
        return
    seconds = processes.agree_seconds(clock.training_seconds())
    if optim.budget_schedule_starts(opt, seconds, trainer.cfg.train.max_minutes):
        trainer.budget_schedule_epoch = trainer.completed_epochs
        if hooks.on_schedule_start:
            hooks.on_schedule_start(trainer.budget_schedule_epoch, seconds / 60)


def _roll_back(trainer: Trainer, run_dir: Path, error: NonFiniteError, hooks: RunHooks, writes: bool = True) -> None:
    """nan_guard decides (stop re-raises `error`); the trainer reloads last.pt; later rows leave metrics.jsonl."""
    plan = nan_guard.decide_rollback(
        error, trainer.cfg.train, trainer.nan_rollbacks, trainer.lr_scale, trainer.last_saved_step, run_dir
    )
    bad_step = trainer.step
    trainer.roll_back(plan)
    if writes:
        runlog.rewind(RunDir(run_dir).metrics, trainer.step)
    if hooks.on_rollback:
        hooks.on_rollback(plan.note(bad_step, trainer.step, trainer.base_lr * trainer.lr_scale))


class _Clock:
    """The time and the log window of one pass of `run` (a NaN rollback starts another). Its
    seconds are the running clock's: time the process stood still (stopped, suspended) is not
    training time, nor elapsed time, nor part of a throughput."""

    def __init__(self, trainer: Trainer, now: RunningClock) -> None:
        self.trainer, self.now = trainer, now
        now_s = now()
        self.start = now_s - trainer.elapsed  # trainer.elapsed counts every session of the run
        self.window_start, self.window_first_step = now_s, trainer.step  # the log row being summed
        self.epochs_done = trainer.completed_epochs
        self.stops_seen_s = now.stopped_s

    def log_row(self, metrics: TextIO, run_dir: Path) -> dict[str, Any]:
        """Read the window's means from the device (one sync), check them, write and return the row."""
        tr, t = self.trainer, self.trainer.cfg.train
        means = tr.acc.read()
        nan_guard.check_losses(means, tr.step, nan_guard.last_good(tr.last_saved_step, run_dir))
        now = self.now()
        tr.elapsed = now - self.start
        # the sampler's batch: train.batch_size, times the number of processes when there are several
        examples = (
            (tr.step - self.window_first_step) * (t.k if t.update == "alternating" else 1) * tr.sampler.batch_size
        )
        row = {
            "step": tr.step,
            "epoch": round(tr.sampler.fractional_epoch, 6),
            **means,
            "lr": tr.lr,
            "momentum": tr.momentum,
            "samples_per_s": examples / max(now - self.window_start, 1e-9),
            "time": round(tr.elapsed, 3),
            "training_time": round(tr.elapsed - tr.evaluation_s, 3),  # train.max_minutes' measure
        }
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        self.window_start, self.window_first_step = now, tr.step
        return row

    def epoch_ended(self) -> bool:
        """Whether this step completed an epoch (true once per epoch)."""
        epochs = self.trainer.completed_epochs
        if epochs == self.epochs_done:
            return False
        self.epochs_done = epochs
        return True

    def selection_due(self) -> bool:
        """Whether the epoch this step completed is one that model selection (select.every_epochs) checks."""
        every = self.trainer.cfg.select.every_epochs
        return every > 0 and self.epochs_done % every == 0

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Time spent on pictures and model selection: not training time (train.max_minutes)."""
        t0 = self.now()
        try:
            yield
        finally:
            self.trainer.evaluation_s += self.now() - t0

    def spent(self) -> tuple[float, float]:
        """(elapsed, evaluation) seconds of the run so far, every session counted."""
        return self.now() - self.start, self.trainer.evaluation_s

    def training_seconds(self) -> float:
        """Seconds of training over every session of the run, pictures and model selection left out."""
        return self.now() - self.start - self.trainer.evaluation_s

    def stopped_since_last_look(self) -> float:
        """Seconds the process stood still since the last call that returned some: 0.0 until they
        come to a second (a busy machine may hold the watching thread up a little past its grace)."""
        unseen = self.now.stopped_s - self.stops_seen_s
        if unseen < 1.0:
            return 0.0
        self.stops_seen_s += unseen
        return unseen

    def over_budget(self) -> bool:
        limit = self.trainer.cfg.train.max_minutes
        return limit is not None and self.training_seconds() >= 60 * limit

    def checkpoint(self, run_dir: Path, writes: bool) -> Path:
        self.trainer.elapsed = self.now() - self.start
        return save_checkpoint(self.trainer, run_dir, self.trainer.cfg.log.keep, writes)
