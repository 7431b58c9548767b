"""`gan train`: resolve the config, check everything, then create the run directory and train.

Everything that can fail because of the user's input (config, data, device, run directory) is
checked before the run directory is created, so a mistake never leaves a half-written run. One
entry point for every way of starting: this process alone, `--nproc N` (this process becomes
torchrun's launcher and its workers come back here), or a worker of torchrun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import torch
import yaml

from gan_cli import __version__, checkpoint, data, devices, models, outputs, runlog
from gan_cli import config as config_mod
from gan_cli.config import Config, to_dict
from gan_cli.errors import GanError, Stopped
from gan_cli.figures.samples import draw
from gan_cli.file_kinds import DANGLING, MISSING, input_problem
from gan_cli.run_dir import DEFAULT_PARENT, RunDir
from gan_cli.training import hooks, tensorboard
from gan_cli.training.console import Reporter
from gan_cli.training.loop import Trainer, budget_steps
from gan_cli.training.options import TrainOptions
from gan_cli.training.preflight import (
    check_disk,
    check_memory,
    check_pictures,
    check_size,
    checkpoint_bytes,
    dry_run_data,
    dry_run_header,
)
from gan_cli.training.ranks import Ranks, Solo, as_worker, yaml_comment
from gan_cli.training.rendezvous import world_size_from_env
from gan_cli.training.resume import resume_from_last
from gan_cli.training.run import RunHooks, run
from gan_cli.training.selection import make_hook as selection_hook

MAX_NPROC = 256
"""Most processes `--nproc` starts on one machine (one per GPU is the usual count)."""


@dataclass
class _Setup:
    """Everything `gan train` resolves and checks before it writes: the run's parts, ready to train."""

    cfg: Config
    run_dir: RunDir | None
    device: torch.device
    dataset: data.Dataset
    trainer: Trainer
    total: int
    writer_class: type | None
    note: str
    locked: bool


def train(options: TrainOptions, reporter: Reporter | None = None, ranks: Ranks | None = None) -> Path | None:
    """Run `gan train`; the run directory (None for --dry-run and for a `--nproc` launcher).

    One entry point for every way of starting: `--nproc N` makes this process torchrun's launcher
    (its workers come back here), a torchrun worker joins its process group and comes back here as
    one of `ranks`, and otherwise this process trains alone. Raises GanError (exit 1) and Stopped
    (exit 130 after a signal, with the checkpoint written and the resume command)."""
    if options.resume and options.config is not None and options.out is not None and options.config.is_dir():
        raise GanError(
            f"--resume {options.config} --out {options.out}: give the run directory once, "
            f"gan train --resume {options.config} (a run continues in its own directory)"
        )
    options = options.normalised()
    if ranks is None:
        world = world_size_from_env()
        _check_processes(options, world)
        if options.nproc is not None and options.nproc > 1:
            _launch(options)
            return None
        if world > 1:  # a worker of torchrun (or of `gan train --nproc`)
            return as_worker(lambda joined: train(options, reporter, joined))
    reporter = reporter or Reporter()
    processes = ranks or Solo()
    try:
        with contextlib.ExitStack() as held:
            held.enter_context(devices.memory_as_error(_memory_advice))
            setup = _prepare(options, reporter, processes, held)
            if setup is None:
                return None  # --dry-run
            run_dir = _own(setup, options, processes, held)
            if not processes.writes:  # rank 0 writes the run directory; this rank trains beside it
                run(setup.trainer, run_dir.path, setup.total, RunHooks(), processes)
                return run_dir.path
            writer = _open(run_dir, setup, processes.note(setup.cfg), options, held)
            g, d = models.count_parameters(setup.trainer.G), models.count_parameters(setup.trainer.D)
            budget = setup.cfg.train.max_minutes
            reporter.budget_s = None if budget is None else 60 * budget
            reporter.banner(
                run_dir.path, setup.device, g, d, setup.trainer.step, setup.total, processes.note(setup.cfg)
            )
            try:
                with reporter.progress(setup.total, setup.trainer.step) as advance:
                    # Algorithm 1 (or the released update) to the budget, with the run's cadences
                    run(
                        setup.trainer,
                        run_dir.path,
                        setup.total,
                        _hooks(run_dir, setup, reporter, writer, advance),
                        processes,
                    )
            except OSError as exc:
                raise GanError(
                    f"writing to {run_dir.path} failed: {exc.strerror or exc}; "
                    + (
                        f"the last good checkpoint is {run_dir.last}"
                        if run_dir.has_checkpoint()
                        else "no checkpoint was written"
                    )
                ) from None
    except KeyboardInterrupt:
        # Ctrl-C before the loop took over the signal (loading data, building nets): nothing to save
        raise Stopped("interrupted before training started; no checkpoint was written", 130) from None
    reporter.done(run_dir.path)
    return run_dir.path


def _memory_advice(size: str) -> str:
    return (
        f"out of memory: training asked for {size} more than the device has; make generator.hidden, "
        f"discriminator.hidden or train.batch_size smaller (checkpoints already written are kept)"
    )


def _check_processes(options: TrainOptions, world: int) -> None:
    if options.nproc is not None and world > 1:
        raise GanError("--nproc starts its own processes; under torchrun, give torchrun --nproc-per-node instead")
    if options.nproc is not None and options.nproc > MAX_NPROC:
        raise GanError(
            f"--nproc {options.nproc}: at most {MAX_NPROC} processes on one machine; across machines, use torchrun --nnodes (docs/distributed.md)"
        )


def _launch(options: TrainOptions) -> None:
    """Become torchrun's launcher for `options.nproc` workers of `gan train`; they say what happened."""
    from gan_cli.training.launch import launch

    code = launch(options)
    if code:
        raise Stopped("", code)


def _prepare(
    options: TrainOptions, reporter: Reporter, processes: Solo | Ranks, held: contextlib.ExitStack
) -> _Setup | None:
    """Resolve and check everything, load the data, build the trainer (and load last.pt on resume);
    None after --dry-run's output. An existing run directory is locked first (in `held`)."""
    cfg, run_dir = _resolve_config(options)
    dev = processes.device(cfg.device)
    _check_out(run_dir, options.resume)
    if options.resume and run_dir is not None:  # a resumed run keeps the random streams it started with (seeds.py)
        scheme = checkpoint.seed_scheme(run_dir.last) or cfg.seed_scheme  # the value a validated config wrote
        cfg = dataclasses.replace(cfg, seed_scheme=cast(Literal["derive", "legacy"], scheme))
    if options.dry_run:  # the config and the nets' sizes first: a missing dataset is reported after them
        reporter.print(dry_run_header(cfg, dev))
    elif (dim := data.known_dim(cfg)) is not None:
        check_size(cfg, dim)
    locked = processes.writes and run_dir is not None and run_dir.path.is_dir() and not options.dry_run
    if locked:
        assert run_dir is not None  # locked implies it
        _take(held, run_dir, options)  # before reading its checkpoint: no other writer may change it meanwhile
    dataset = data.load(cfg)
    counts = check_size(cfg, dataset.dim)
    check_pictures(cfg, dataset)
    check_memory(cfg, dataset.dim, counts, dev)
    trainer = processes.trainer(cfg, dataset, dev)
    writer_class = hooks.tensorboard_writer_class(cfg)
    total = budget_steps(cfg, trainer.sampler.batches_per_epoch)
    if options.dry_run:
        reporter.print(dry_run_data(cfg, trainer, total))
        return None
    note = resume_from_last(trainer, cfg, run_dir, total) if options.resume and run_dir is not None else ""
    spent = (trainer.elapsed - trainer.evaluation_s) / 60
    if cfg.train.max_minutes is not None and spent >= cfg.train.max_minutes:
        raise GanError(
            f"train.max_minutes {cfg.train.max_minutes:g}: the run has trained {spent:.1f} minutes already; "
            f"raise it to continue, e.g. --set train.max_minutes={max(2 * cfg.train.max_minutes, spent + 1):g}"
        )
    if processes.writes:  # a full disk met at the first checkpoint would cost every step before it
        where = run_dir.path if run_dir is not None else DEFAULT_PARENT / cfg.name
        warning = check_disk(cfg, checkpoint_bytes(cfg, trainer), where)
        if warning:
            reporter.warn(warning)
    return _Setup(cfg, run_dir, dev, dataset, trainer, total, writer_class, note, locked)


def _own(setup: _Setup, options: TrainOptions, processes: Solo | Ranks, held: contextlib.ExitStack) -> RunDir:
    """The run directory, made and locked once every rank's checks have passed."""
    run_dir = setup.run_dir or RunDir(processes.default_run_dir(setup.cfg.name))
    processes.agree()  # several processes: every rank's checks passed before rank 0 writes anything
    if processes.writes and not setup.locked:  # a directory made now, or by the line above: empty until it is ours
        run_dir.create(only_root=True)
        _take(held, run_dir, options)
    return run_dir


def _take(lock: contextlib.ExitStack, run_dir: RunDir, options: TrainOptions) -> None:
    """Hold the run's train lock, then look at it again: another command may have written it
    between the first look and the lock."""
    lock.enter_context(run_dir.writer("train", options.command_line or "gan train"))
    _check_out(run_dir, options.resume)
    outputs.check_run_files(run_dir)


def _resolve_config(options: TrainOptions) -> tuple[Config, RunDir | None]:
    """The config (data.root made absolute, so a resume from another folder finds the same data)
    and the run directory given (None: a new default one)."""
    run_dir = RunDir(options.out.expanduser()) if options.out else None
    if options.config is None:
        if not options.resume or run_dir is None:
            raise GanError("give a CONFIG.yaml, or --resume with the run directory to continue")
        if not run_dir.config.is_file():
            raise GanError(f"{run_dir.path} has no config.yaml: is it a gan-cli run directory?")
        cfg = config_mod.load(run_dir.config, options.config_overrides())
    else:
        cfg = config_mod.load(options.config, options.config_overrides())
    root = Path(cfg.data.root).expanduser()
    if not root.is_absolute():
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=str(root.absolute())))
    return cfg, run_dir


def _check_out(run_dir: RunDir | None, resume: bool) -> None:
    """Refuse an --out that the run could not use, before any work (--dry-run included)."""
    if run_dir is None:
        if resume:
            raise GanError("--resume needs --out RUN_DIR (the run to continue)")
        return
    path = run_dir.path
    if path.exists() and not path.is_dir():
        raise GanError(f"--out {path} exists and is not a directory")
    if resume:
        if run_dir.has_checkpoint():
            return
        if path.is_dir() and run_dir.failed_start():
            raise GanError(
                f"--resume: {path} stopped before its first checkpoint, so there is nothing to resume; "
                f"run the same command without --resume to start it again in that directory"
            )
        problem = input_problem(run_dir.last)
        if problem not in (MISSING, DANGLING):
            raise GanError(f"--resume: {run_dir.last} is not a checkpoint file: {problem}")
        steps = run_dir.step_checkpoints()
        if steps:  # last.pt was removed (by hand, or a tool that cleans up) but its step files are there
            step, newest = steps[-1]
            raise GanError(
                f"--resume: {run_dir.last} does not exist, but {newest} (step {step:,}) does: copy it to "
                f"{run_dir.last.name} to resume from there, or drop --resume to start a new run"
            )
        raise GanError(f"--resume: {run_dir.last} does not exist; nothing to resume (drop --resume to start a new run)")
    if run_dir.is_nonempty() and not run_dir.failed_start():
        raise GanError(
            f"--out {path} exists and is not empty: choose another directory, or add --resume to continue it"
        )


def _open(
    run_dir: RunDir, setup: _Setup, processes_note: str, options: TrainOptions, held: contextlib.ExitStack
) -> Any:
    """Write the run's config.yaml and command.txt (a failed start's leftovers cleared first) and the
    picture of the training data; the TensorBoard writer (closed by `held`), or None."""
    note = setup.note
    try:
        if not options.resume and run_dir.failed_start():
            run_dir.clear_failed_start()
            note = "restarted: the earlier start in this directory stopped before its first checkpoint"
        run_dir.create()
        if options.resume:
            runlog.rewind(run_dir.metrics, setup.trainer.step)
            run_dir.remove_stale_temps()
        config_text = yaml_comment(processes_note) + yaml.safe_dump(to_dict(setup.cfg), sort_keys=False)
        run_dir.config.write_text(config_text, encoding="utf-8")
        run_dir.log_command(
            [
                f"command: {options.command_line or 'gan train'}",
                f"gan-cli {__version__}; torch {torch.__version__}; python {platform.python_version()}; device {setup.device}",
                *(n for n in (processes_note, note) if n),
            ]
        )
    except OSError as exc:
        raise run_dir.write_failure(exc) from None
    if setup.dataset.is_image and not run_dir.real_picture.exists():  # the training data beside G's samples
        draw(setup.dataset.train[: setup.cfg.log.picture_samples], setup.trainer.data_info, run_dir.real_picture)
    if setup.writer_class is None:
        return None
    writer = setup.writer_class(str(run_dir.tensorboard))
    held.callback(writer.close)
    if run_dir.real_picture.exists():  # the training data beside G's samples, as on disk
        tensorboard.add_picture(writer, "samples/real", run_dir.real_picture, setup.trainer.step)
    return writer


def _hooks(run_dir: RunDir, setup: _Setup, reporter: Reporter, writer: Any, advance: Callable[[int], None]) -> RunHooks:
    """What the loop calls back: log lines (and TensorBoard), pictures, selection, progress, notes."""
    return RunHooks(
        on_log=hooks.log_row(reporter, writer),
        on_samples=hooks.samples_picture(run_dir, setup.dataset, setup.cfg, reporter, writer),
        on_select=hooks.selection_reported(selection_hook(setup.trainer, run_dir.path), reporter, writer),
        on_progress=advance,
        on_rollback=hooks.rollback_note(run_dir, reporter),
        on_budget=hooks.budget_note(run_dir, reporter, setup.cfg),
        on_schedule_start=hooks.schedule_start_note(run_dir, reporter, setup.cfg),
        on_stopped=hooks.stopped_note(run_dir, reporter),
    )
