"""The `gan` command line: Typer declarations only. Each command parses its options into one frozen
options object and calls one function of gan_cli.commands; `user_errors` turns a GanError into one
line and exit 1, and a Stopped into its message and exit code."""

from __future__ import annotations

import functools
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from gan_cli import __version__, consoles, stdout_guard, stop_signals
from gan_cli.config import check_seed
from gan_cli.errors import GanError, Stopped, file_error, no_home_error

# The exception classes of the click that typer runs on: recent typers carry their own copy
# (typer._click), older ones use click itself; typer.BadParameter is defined in that module.
_click_errors: Any = sys.modules[typer.BadParameter.__module__]


class _UsageError(_click_errors.ClickException):
    """A usage error said in one line `error: ...` on stderr, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        err.print(f"error: {self.message}", markup=False, highlight=False, soft_wrap=True)


def _one_line(exc: Exception) -> Exception:
    if isinstance(exc, getattr(_click_errors, "NoArgsIsHelpError", ())):
        return exc  # `gan` alone: the help
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "gan"
    return _UsageError(f"{exc.format_message().rstrip('.')}; see {where} --help")  # type: ignore[attr-defined]


def _check_text(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 (a Linux file name may be any bytes; Python hands them
    over as lone surrogates): the arguments go into text files (command.txt, the run's lock, the
    JSON and YAML records), and writing one failed with a traceback after the run directory existed."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(arg)
            raise _UsageError(
                f"the argument {raw!r} is not UTF-8 text; gan records its arguments in text files "
                "(command.txt, config.yaml, eval.json): give the file or folder a UTF-8 name"
            ) from None


class _OneLineUsageErrors(TyperGroup):
    """Click's own usage errors (an unknown command or option, a value outside an option's range, a
    missing argument) end like every other user error: one line and exit 1, where click would print
    a usage block and exit 2. Arguments that are not text are refused here too, before any command."""

    def make_context(self, info_name: Any, args: list[str], *rest: Any, **kwargs: Any) -> Any:
        _check_text(args)
        try:
            return super().make_context(info_name, args, *rest, **kwargs)
        except _click_errors.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _click_errors.UsageError as exc:
            raise _one_line(exc) from None


app = typer.Typer(
    cls=_OneLineUsageErrors,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich help labels flags '<bool>' as if they took a value
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train and evaluate generative adversarial nets as Goodfellow et al. (2014) introduced them.",
)
err = consoles.plain(stderr=True)

Command = TypeVar("Command", bound=Callable[..., Any])


def user_errors(command: Command) -> Command:
    """GanError (a mistake the user can fix): `error: MESSAGE` on stderr, exit 1, no traceback.
    Stopped (a signal, or a failure already reported): its message, its exit code. An OSError about
    a file (its filename set): one line naming the file; a `~` with no home directory to expand it
    to: one line. Put it under `@app.command()`; every other exception is a bug and keeps its traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GanError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except Stopped as exc:
            if exc.message:
                err.print(exc.message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.code) from None
        except OSError as exc:
            if exc.filename is None:  # not about a file the user named: a bug, with its traceback
                raise
            # a path the system refuses wherever it is first touched (a name past NAME_MAX, a folder
            # without search permission, a stale NFS handle): the environment's, not a bug
            err.print(f"error: {file_error(exc)}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except RuntimeError as exc:
            message = no_home_error(exc)  # `--out ~/runs` with no home directory: the environment's, not a bug
            if message is None:
                raise
            err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return run  # type: ignore[return-value]


def _stop_like_ctrl_c(signum: int, frame: Any) -> None:
    """A stop signal (gan_cli/stop_signals.py) outside the training loop, which checkpoints on them."""
    if signum == stop_signals.REPEATED_BY_THE_KERNEL:
        signal.signal(signum, signal.SIG_IGN)  # the kernel repeats it every CPU second: one stop is enough
    raise KeyboardInterrupt


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gan-cli {__version__}")
        raise typer.Exit()


def _typed() -> str:
    """The command line as the user typed it (for command.txt), shell-quoted."""
    return shlex.join(["gan", *sys.argv[1:]])


Opt = typer.Option
MaybePath = Path | None
MaybeStr = str | None
MaybeInt = int | None
Sets = list[str] | None
CKPT = "Checkpoint file or run directory (its checkpoints/last.pt)."
WEIGHTS = "G's weights: ema (train.ema's average; the default where kept) | raw."
SET = "Override a config key, e.g. train.batch_size=64 (repeatable; YAML value)."


@app.callback()
def _root(
    version: Annotated[bool, Opt("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """gan-cli."""


@app.command()
@user_errors
def train(
    config: Annotated[MaybePath, typer.Argument(help="Experiment YAML (optional with --resume RUN_DIR).")] = None,
    set_: Annotated[Sets, Opt("--set", metavar="KEY=VALUE", help=SET)] = None,
    out: Annotated[MaybePath, Opt("--out", help="Exact run directory (default runs/<name>-<time>).")] = None,
    resume: Annotated[bool, Opt("--resume", help="Continue the run from its checkpoints/last.pt.")] = False,
    device: Annotated[MaybeStr, Opt("--device", help="auto | cpu | cuda | cuda:N | mps (over the config's).")] = None,
    seed: Annotated[MaybeInt, Opt("--seed", help="Seed (over the config's).")] = None,
    dry_run: Annotated[bool, Opt("--dry-run", help="Print the resolved config and net sizes; train nothing.")] = False,
    nproc: Annotated[MaybeInt, Opt("--nproc", min=1, help="N processes here (DDP); batch_size is per process.")] = None,
    worker_options: Annotated[
        MaybeStr, Opt("--worker-options", hidden=True, help="A --nproc worker's options.")
    ] = None,
) -> None:
    """Train G and D on the experiment in CONFIG; write checkpoints, samples and metrics to a run directory."""
    from gan_cli.commands.train import train as train_command
    from gan_cli.training.options import TrainOptions

    if worker_options is not None:
        options = TrainOptions.from_json(worker_options)
    else:
        options = TrainOptions(config, tuple(set_ or ()), out, resume, device, seed, dry_run, nproc, _typed())
    train_command(options)


eval_app = typer.Typer(
    rich_markup_mode=None,
    help="Measure a checkpoint (gan eval --ckpt ...), or train a dataset's feature network (gan eval features).",
)
app.add_typer(eval_app, name="eval")


@eval_app.callback(invoke_without_command=True)
@user_errors
def eval_(
    ctx: typer.Context,
    ckpt: Annotated[MaybePath, Opt("--ckpt", help=CKPT)] = None,
    split: Annotated[MaybeStr, Opt("--split", help="Held-out split: valid | test (default eval.split).")] = None,
    num_samples: Annotated[MaybeInt, Opt("--num-samples", help="Samples per metric (eval.generated_samples).")] = None,
    seed: Annotated[MaybeInt, Opt("--seed", help="Seed of the evaluation's random numbers (eval.seed).")] = None,
    json_path: Annotated[MaybePath, Opt("--json", help="Where the results go (default RUN_DIR/eval.json).")] = None,
    device: Annotated[MaybeStr, Opt("--device", help="auto | cpu | cuda | cuda:N | mps (the config's).")] = None,
    all_: Annotated[
        MaybePath, Opt("--all", help="Every checkpoint of RUN_DIR: eval_all.jsonl, eval_all/*.png.")
    ] = None,
    weights: Annotated[MaybeStr, Opt("--weights", help=WEIGHTS)] = None,
    set_: Annotated[Sets, Opt("--set", metavar="KEY=VALUE", help="An eval.* key or data.root, this time only.")] = None,
) -> None:
    """Measure a checkpoint: V(G, D), JSD bounds and estimates, modes, Parzen log-likelihood, FID, KID, precision/recall."""
    from gan_cli.commands.eval import EvalOptions, eval_command
    from gan_cli.commands.sample import check_count

    if ctx.invoked_subcommand is not None:
        return
    if ckpt is None and all_ is None:
        message = "missing: give a checkpoint file or run directory, --all RUN_DIR, or the subcommand features"
        raise typer.BadParameter(message, ctx, param_hint="'--ckpt'")
    if seed is not None:
        check_seed(seed, "--seed")
    if num_samples is not None:
        check_count(num_samples, "--num-samples")
    eval_command(EvalOptions(ckpt, all_, split, num_samples, seed, json_path, device, weights, tuple(set_ or ())))


@eval_app.command("features")
@user_errors
def eval_features(
    data: Annotated[Path, Opt("--data", help="Experiment YAML naming the dataset (mnist, digits, ...).")],
    set_: Annotated[
        Sets, Opt("--set", metavar="KEY=VALUE", help="Override a config key, e.g. data.root=/data.")
    ] = None,
    force: Annotated[bool, Opt("--force", help="Retrain even when a cached network is there.")] = False,
    steps: Annotated[MaybeInt, Opt("--steps", help="Adam updates of 128 images (default 20 epochs).")] = None,
) -> None:
    """Train the dataset's feature network (a small CNN classifier) once and cache it under data.root."""
    from gan_cli.commands.features import FeaturesOptions, features_command

    features_command(FeaturesOptions(data, tuple(set_ or ()), force, steps))


@app.command()
@user_errors
def sample(
    ckpt: Annotated[Path, Opt("--ckpt", help=CKPT)],
    n: Annotated[int, Opt("-n", "--num", help="Number of samples.", min=1)] = 100,
    seed: Annotated[int, Opt("--seed", help="Seed of the noise; the same seed, the same samples.")] = 0,
    out: Annotated[MaybePath, Opt("--out", help="FILE.png (picture), .npy or .pt (raw samples).")] = None,
    device: Annotated[str, Opt("--device", help="auto | cpu | cuda | cuda:N | mps.")] = "cpu",
    nearest: Annotated[bool, Opt("--nearest", help="Figure 2: samples, then the nearest training image.")] = False,
    interpolate: Annotated[bool, Opt("--interpolate", help="Figure 3: rows along lines between two z.")] = False,
    cols: Annotated[MaybeInt, Opt("--cols", min=2, help="Tiles per row of a figure (6 or 10 by default).")] = None,
    weights: Annotated[MaybeStr, Opt("--weights", help=WEIGHTS)] = None,
) -> None:
    """Draw samples from a trained generator."""
    from gan_cli.commands.sample import SampleOptions, sample_command

    check_seed(seed, "--seed")
    if nearest and interpolate:
        raise GanError("--nearest and --interpolate make different pictures: give one of them")
    figure = "nearest" if nearest else "interpolate" if interpolate else None
    typer.echo(sample_command(SampleOptions(ckpt, n, seed, out, device, figure, cols, weights)))


@app.command("config")
@user_errors
def config_keys(
    markdown: Annotated[bool, Opt("--markdown", help="A Markdown table with its header (docs/config.md).")] = False,
) -> None:
    """List every config key with its default and meaning."""
    from gan_cli.commands.config import config_command

    typer.echo(config_command(markdown))


plot_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Pictures of a run: curves, Figure 1.")
app.add_typer(plot_app, name="plot")


@plot_app.command("curves")
@user_errors
def plot_curves(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (may still be training).")],
    out: Annotated[Path, Opt("--out", help="FILE.png to write.")],
) -> None:
    """V(G, D) with -log 4, mean D(x) and D(G(z)) with 1/2, losses, lr and momentum against steps."""
    from gan_cli.commands.plot import PlotOptions, plot_command

    typer.echo(plot_command(PlotOptions("curves", run_dir, out)))


@plot_app.command("figure1")
@user_errors
def plot_figure1(
    ckpt: Annotated[Path, Opt("--ckpt", help="Run directory of a 1-D run (configs/gaussian1d.yaml).")],
    out: Annotated[Path, Opt("--out", help="FILE.png to write.")],
) -> None:
    """Figure 1: p_data, p_g, D and D* with the z -> x = G(z) arrows, early, mid, after a G step, end."""
    from gan_cli.commands.plot import PlotOptions, plot_command

    typer.echo(plot_command(PlotOptions("figure1", ckpt, out)))


@app.command()
@user_errors
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run directories to compare (two or more).")],
    out: Annotated[MaybePath, Opt("--out", help="Folder for compare.md and .png (runs/compare-<time>).")] = None,
) -> None:
    """Runs side by side: curves overlaid (V, D(x), D(G(z)), selection, eval --all metrics), eval.json metrics and the config keys that differ."""
    from gan_cli.commands.compare import CompareOptions, compare_command

    typer.echo(compare_command(CompareOptions(tuple(runs), out)))


@app.command()
@user_errors
def sweep(
    sweep_file: Annotated[MaybePath, typer.Argument(help="Sweep YAML; with --resume, the sweep directory.")] = None,
    out: Annotated[MaybePath, Opt("--out", help="Exact sweep directory (default runs/<name>-<time>).")] = None,
    address: Annotated[MaybeStr, Opt("--address", help="Ray cluster: auto | HOST:6379 | ray://HOST:10001.")] = None,
    resume: Annotated[bool, Opt("--resume", help="Continue the sweep directory: unfinished trials only.")] = False,
    cpus: Annotated[MaybeInt, Opt("--cpus", help="CPUs the local Ray may use (default: all).")] = None,
    set_: Annotated[
        Sets, Opt("--set", metavar="KEY=VALUE", help="Override a key in every trial, e.g. data.root=/data.")
    ] = None,
) -> None:
    """Run a config over seeds and a grid of --set values on Ray; one run directory per trial, a table across seeds."""
    from gan_cli.commands.sweep import SweepOptions, sweep_command

    sweep_command(SweepOptions(sweep_file, out, address, resume, cpus, tuple(set_ or ())))


def main() -> None:
    """Console-script entry point. The stop signals (Ctrl-C, SIGTERM, SIGHUP, SIGXCPU, a scheduler's
    SIGUSR1 or SIGUSR2; gan_cli/stop_signals.py) stop every command the same way, however it was
    started."""
    stdout_guard.install()  # a pipe's reader that exits (`| head`) must not cost a run its work
    stop_signals.install(_stop_like_ctrl_c)
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
