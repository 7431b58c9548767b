"""`gan train`: resolve the config, check everything, then create the run directory and train.

Everything that can fail because of the user's input (config, data, device, run directory) is
checked before the run directory is created, so a mistake never leaves a half-written run. One
entry point for every way of starting: this process alone, `--nproc N` (this process becomes
torchrun's launcher and its workers come back here), or a worker of torchrun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shlex
from pathlib import Path
from typing import Literal, cast

import torch
import yaml

from gan_cli import __version__, checkpoint, data, models, runlog
from gan_cli import config as config_mod
from gan_cli.config import Config, to_dict
from gan_cli.errors import GanError, Stopped
from gan_cli.figures.samples import draw
from gan_cli.run_dir import RunDir
from gan_cli.training import hooks
from gan_cli.training.console import Reporter
from gan_cli.training.loop import Trainer, budget_steps
from gan_cli.training.options import TrainOptions
from gan_cli.training.preflight import check_size, dry_run_data, dry_run_header
from gan_cli.training.ranks import Ranks, Solo, as_worker, world_size_from_env, yaml_comment
from gan_cli.training.resume import resume_from_last
from gan_cli.training.run import Interrupted, RunHooks, run
from gan_cli.training.selection import make_hook as selection_hook

MAX_NPROC = 256
"""Most processes `--nproc` starts on one machine (one per GPU is the usual count)."""


def train(options: TrainOptions, reporter: Reporter | None = None) -> Path | None:
    """Run `gan train`; the run directory (None for --dry-run and for a `--nproc` launcher).

    Raises GanError (exit 1) and Stopped (a signal: exit 130, after the checkpoint is written)."""
    options = options.normalised()
    world = world_size_from_env()
    if options.nproc is not None and world > 1:
        raise GanError("--nproc starts its own processes; under torchrun, give torchrun --nproc-per-node instead")
    if options.nproc is not None and options.nproc > MAX_NPROC:
        raise GanError(
            f"--nproc {options.nproc}: at most {MAX_NPROC} processes on one machine; across machines, use torchrun --nnodes (docs/distributed.md)"
        )
    try:
        if options.nproc is not None and options.nproc > 1:
            from gan_cli.training.launch import launch

            code = launch(options)
            if code:
                raise Stopped("", code)  # the workers have said what happened
            return None
        if world > 1:  # a worker of torchrun (or of `gan train --nproc`)
            return as_worker(lambda ranks: train_here(options, reporter, ranks))
        return train_here(options, reporter)
    except Interrupted as exc:
        again = f" --nproc {os.environ.get('LOCAL_WORLD_SIZE', world)}" if world > 1 else ""
        where = shlex.quote(str(exc.ckpt_path.parent.parent))
        raise Stopped(
            f"interrupted by {exc.signal_name}: checkpoint written to {exc.ckpt_path}\nresume with: gan train --resume {where}{again}",
            130,
        ) from None
    except KeyboardInterrupt:
        # Ctrl-C before the loop took over the signal (loading data, building nets): nothing to save
        raise Stopped("interrupted before training started; no checkpoint was written", 130) from None


def train_here(options: TrainOptions, reporter: Reporter | None = None, ranks: Ranks | None = None) -> Path | None:
    """Train in this process (alone, or as one of `ranks`, of which only rank 0 writes the run)."""
    reporter = reporter or Reporter()
    processes = ranks or Solo()
    cfg, run_dir = _resolve_config(options)
    dev = processes.device(cfg.device)
    _check_out(run_dir, options.resume)
    if (
        options.resume and run_dir is not None
    ):  # a resumed run keeps the random streams it started with (gan_cli/seeds.py)
        scheme = checkpoint.seed_scheme(run_dir.last) or cfg.seed_scheme  # the value a validated config wrote
        cfg = dataclasses.replace(cfg, seed_scheme=cast(Literal["derive", "legacy"], scheme))
    if options.dry_run:  # the config and the nets' sizes first: a missing dataset is reported after them
        reporter.print(dry_run_header(cfg, dev))
    elif (dim := data.known_dim(cfg)) is not None:
        check_size(cfg, dim)
    with contextlib.ExitStack() as lock:
        locked = processes.writes and run_dir is not None and run_dir.path.is_dir() and not options.dry_run
        if locked:
            assert run_dir is not None  # locked implies it
            _take(lock, run_dir, options)  # before reading its checkpoint: no other writer may change it meanwhile
        dataset = data.load(cfg)
        check_size(cfg, dataset.dim)
        trainer = processes.trainer(cfg, dataset, dev)
        writer_class = hooks.tensorboard_writer_class(cfg)
        total = budget_steps(cfg, trainer.sampler.batches_per_epoch)
        if options.dry_run:
            reporter.print(dry_run_data(cfg, trainer, total))
            return None
        note = resume_from_last(trainer, cfg, run_dir, total) if options.resume and run_dir is not None else ""
        if run_dir is None:
            run_dir = RunDir(processes.default_run_dir(cfg.name))
        processes.agree()  # several processes: every rank's checks passed before rank 0 writes anything
        if not processes.writes:  # rank 0 writes the run directory; this rank trains beside it
            run(trainer, run_dir.path, total, RunHooks(), processes)
            return run_dir.path
        if not locked:  # a directory made now, or by the line above: empty until it is ours
            run_dir.create(only_root=True)
            _take(lock, run_dir, options)
        _open(run_dir, cfg, trainer, dev, processes.note(cfg), note, options)
        _train(run_dir, cfg, dataset, trainer, dev, total, reporter, processes, writer_class)
    return run_dir.path


def _take(lock: contextlib.ExitStack, run_dir: RunDir, options: TrainOptions) -> None:
    """Hold the run's train lock, then look at it again: another command may have written it
    between the first look and the lock."""
    lock.enter_context(run_dir.writer("train", options.command_line or "gan train"))
    _check_out(run_dir, options.resume)


def _resolve_config(options: TrainOptions) -> tuple[Config, RunDir | None]:
    run_dir = RunDir(options.out.expanduser()) if options.out else None
    if options.config is None:
        if not options.resume or run_dir is None:
            raise GanError("give a CONFIG.yaml, or --resume with the run directory to continue")
        if not run_dir.config.is_file():
            raise GanError(f"{run_dir.path} has no config.yaml: is it a gan-cli run directory?")
        return config_mod.load(run_dir.config, options.config_overrides()), run_dir
    return config_mod.load(options.config, options.config_overrides()), run_dir


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
        raise GanError(f"--resume: {run_dir.last} does not exist; nothing to resume (drop --resume to start a new run)")
    if run_dir.is_nonempty() and not run_dir.failed_start():
        raise GanError(
            f"--out {path} exists and is not empty: choose another directory, or add --resume to continue it"
        )


def _open(
    run_dir: RunDir,
    cfg: Config,
    trainer: Trainer,
    device: torch.device,
    processes_note: str,
    note: str,
    options: TrainOptions,
) -> None:
    """Write the run's config.yaml and command.txt (a failed start's leftovers cleared first)."""
    try:
        if not options.resume and run_dir.failed_start():
            run_dir.clear_failed_start()
            note = "restarted: the earlier start in this directory stopped before its first checkpoint"
        run_dir.create()
        if options.resume:
            runlog.rewind(run_dir.metrics, trainer.step)
            run_dir.remove_stale_temps()
        run_dir.config.write_text(
            yaml_comment(processes_note) + yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8"
        )
        run_dir.log_command(
            [
                f"command: {options.command_line or 'gan train'}",
                f"gan-cli {__version__}; torch {torch.__version__}; python {platform.python_version()}; device {device}",
                *(n for n in (processes_note, note) if n),
            ]
        )
    except OSError as exc:
        raise GanError(f"cannot write the run directory {run_dir.path}: {exc.strerror or exc}") from None


def _train(
    run_dir: RunDir,
    cfg: Config,
    dataset: data.Dataset,
    trainer: Trainer,
    device: torch.device,
    total: int,
    reporter: Reporter,
    processes: Solo | Ranks,
    writer_class: type | None,
) -> None:
    """Train to `total` steps with the run's hooks: log lines, pictures, selection, TensorBoard."""
    writer = writer_class(str(run_dir.tensorboard)) if writer_class else None
    if (
        dataset.is_image and not run_dir.real_picture.exists()
    ):  # the training data beside G's samples, for comparison by eye
        draw(dataset.train[: cfg.log.picture_samples], trainer.data_info, run_dir.real_picture)
    g, d = models.count_parameters(trainer.G), models.count_parameters(trainer.D)
    reporter.banner(run_dir.path, device, g, d, trainer.step, total, processes.note(cfg))
    try:
        with reporter.progress(total, trainer.step) as advance:
            run_hooks = RunHooks(
                on_log=hooks.log_row(reporter, writer),
                on_samples=hooks.samples_picture(run_dir, dataset, cfg, reporter),
                on_select=selection_hook(trainer, run_dir.path),
                on_progress=advance,
                on_rollback=hooks.rollback_note(run_dir, reporter),
            )
            run(trainer, run_dir.path, total, run_hooks, processes)
    except OSError as exc:
        raise GanError(
            f"writing to {run_dir.path} failed: {exc.strerror or exc}; the last good checkpoint is {run_dir.last}"
        ) from None
    finally:
        if writer is not None:
            writer.close()
    reporter.done(run_dir.path)
