"""What `gan train` does beside the loop when the loop calls back (training.run.RunHooks): the
sample pictures, TensorBoard (scalars, pictures, the selection signal), the console, notes in command.txt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gan_cli import optim
from gan_cli.config import Config
from gan_cli.data import Dataset
from gan_cli.errors import GanError
from gan_cli.figures.samples import draw
from gan_cli.run_dir import RunDir
from gan_cli.training import tensorboard
from gan_cli.training.console import Reporter, clock
from gan_cli.training.loop import Trainer


def tensorboard_writer_class(cfg: Config) -> Any:
    """The SummaryWriter class when log.tensorboard is on (None when off); checked before the run
    directory exists, so a missing package never leaves a half-made run."""
    if not cfg.log.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GanError(
            "log.tensorboard: true needs the tensorboard package: pip install tensorboard (or set it to false)"
        ) from None
    return SummaryWriter


def samples_picture(
    run: RunDir, dataset: Dataset, cfg: Config, reporter: Reporter, writer: Any = None
) -> Callable[[Trainer], None]:
    """Draw G's fixed-noise samples to samples/step_NNNNNNN.png (and, with a TensorBoard writer, that
    picture as the image `samples/fixed_noise` at its step). A picture never stops training: the
    first failure is one warning, later ones are silent."""
    failed = False

    def on_samples(tr: Trainer) -> None:
        nonlocal failed
        try:
            draw(
                tr.fixed_samples().cpu(),
                tr.data_info,
                run.step_picture(tr.step),
                target=dataset.target,
                D=tr.D,
                device=tr.device,
                real=dataset.train[:2_000] if not dataset.is_image else None,
                title=f"step {tr.step}",
                G=tr.G,
                noise=cfg.noise,
            )
            if writer is not None:
                tensorboard.add_picture(writer, "samples/fixed_noise", run.step_picture(tr.step), tr.step)
        except Exception as exc:  # noqa: BLE001 - a picture must never stop training, whatever broke it
            if not failed:
                failed = True
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                reporter.warn(
                    f"could not draw the samples picture at step {tr.step} ({first}); training goes on, without pictures if it keeps failing"
                )

    return on_samples


def log_row(reporter: Reporter, writer: Any) -> Callable[[dict[str, Any]], None]:
    """Each metrics row to the console and, with a TensorBoard writer, as scalars at its step."""
    if writer is None:
        return reporter.log_row

    def on_log(row: dict[str, Any]) -> None:
        reporter.log_row(row)
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)):
                writer.add_scalar(key, value, row["step"])
        writer.flush()

    return on_log


def selection_reported(
    on_select: Callable[[Trainer], dict[str, Any]] | None, reporter: Reporter, writer: Any
) -> Callable[[Trainer], None] | None:
    """Model selection's check, then its row as a console line and, with a TensorBoard writer, as
    `selection/*` scalars."""
    if on_select is None:
        return None

    def on_check(tr: Trainer) -> None:
        row = on_select(tr)
        reporter.selection_row(row)
        if writer is not None:
            tensorboard.add_selection(writer, row)

    return on_check


def budget_note(run: RunDir, reporter: Reporter, cfg: Config) -> Callable[[int, float], None]:
    """train.max_minutes ended the run: one line on the console, and the same in command.txt."""

    def on_budget(step: int, minutes: float) -> None:
        line = (
            f"time budget reached: {minutes:.1f} of train.max_minutes {cfg.train.max_minutes:g} minutes of training, "
            f"at step {step:,}; checkpoint written (a resume with a larger train.max_minutes continues it)"
        )
        reporter.print(line)
        run.note(line)

    return on_budget


def stopped_note(run: RunDir, reporter: Reporter) -> Callable[[float], None]:
    """The process stood still (Ctrl-Z, SIGSTOP, a suspended job) and its clocks left that out: one
    line on the console, the same in command.txt."""

    def on_stopped(seconds: float) -> None:
        line = (
            f"the process was stopped for {clock(seconds)} (Ctrl-Z, SIGSTOP or a suspended job); "
            "not counted as training time (train.max_minutes), elapsed time or throughput"
        )
        reporter.print(line)
        run.note(line)

    return on_stopped


def schedule_start_note(run: RunDir, reporter: Reporter, cfg: Config) -> Callable[[int, float], None]:
    """lr_schedule.start_at_budget started the lr schedule: one line on the console, the same in command.txt."""

    def on_schedule_start(epoch: int, minutes: float) -> None:
        s = cfg.train.optimizer.lr_schedule
        ends = optim.resolved(cfg.train.optimizer, epoch).lr_schedule.end_epoch
        line = (
            f"lr schedule started at the end of epoch {epoch}: {minutes:.1f} of train.max_minutes "
            f"{cfg.train.max_minutes:g} minutes of training (start_at_budget {s.start_at_budget:g}); the lr reaches "
            f"{s.final:g} x lr0 in epoch {ends}"
        )
        reporter.print(line)
        run.note(line)

    return on_schedule_start


def rollback_note(run: RunDir, reporter: Reporter) -> Callable[[str], None]:
    """A NaN rollback: a warning on stderr (even when quiet), and the note kept in command.txt."""

    def on_rollback(note: str) -> None:
        reporter.warn(note)
        run.note(note)

    return on_rollback
