"""The `gan` command: thin Typer commands, each calling one function; `user_errors` turns GanError into one line, exit 1."""

from __future__ import annotations

import functools
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer
from rich.console import Console

from gan_cli import __version__
from gan_cli.config import check_seed
from gan_cli.errors import GanError

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich help labels flags '<bool>' as if they took a value
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train and evaluate generative adversarial nets as Goodfellow et al. (2014) introduced them.",
)
err = Console(stderr=True, highlight=False)

Command = TypeVar("Command", bound=Callable[..., Any])


def user_errors(command: Command) -> Command:
    """Turn a GanError (a mistake the user can fix) into `error: MESSAGE` on stderr and exit 1, no traceback.

    Put it under `@app.command()`; every other exception is a bug and keeps its traceback.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GanError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return run  # type: ignore[return-value]


MAX_SAMPLES = 10_000_000
"""Most samples one command draws (about 31 GB of MNIST rows in float32): far beyond any protocol's need."""
MAX_COLS = 1_000
MAX_NPROC = 256
"""Most processes `--nproc` starts on one machine (one per GPU is the usual count)."""


def _check_count(n: int, option: str) -> None:
    if not 1 <= n <= MAX_SAMPLES:
        raise GanError(f"{option} {n}: must be between 1 and {MAX_SAMPLES:,}")


def _interrupted(what: str, resume: str) -> NoReturn:
    """After a checkpointed stop: what happened, then the resume command, unwrapped so it pastes as printed; exit 130."""
    err.print(f"{what}\nresume with: {resume}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(130)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM outside the training loop (which checkpoints on it): stop like Ctrl-C, exit 130."""
    raise KeyboardInterrupt


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gan-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """gan-cli."""


@app.command()
@user_errors
def train(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment YAML (optional with --resume RUN_DIR).")] = None,
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key: --set train.batch_size=64 (repeatable; value parsed as YAML).")] = [],  # noqa: B006
    out: Annotated[Optional[Path], typer.Option("--out", help="Exact run directory (default runs/<name>-<YYYYmmdd-HHMMSS>).")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue the run in --out from checkpoints/last.pt.")] = False,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps (overrides the config).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (overrides the config).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config and parameter counts; train nothing.")] = False,
    nproc: Annotated[Optional[int], typer.Option("--nproc", min=1, help="Train with N processes on this machine (DDP through torchrun's launcher); train.batch_size is per process.")] = None,
) -> None:
    """Train G and D on the experiment in CONFIG; write checkpoints, samples and metrics to a run directory."""
    from gan_cli.training.command import train_experiment
    from gan_cli.training.ranks import as_worker, world_size_from_env
    from gan_cli.training.run import Interrupted

    config_path = config
    run_dir = out
    if resume and config is not None and out is None and config.is_dir():
        # `gan train --resume RUN_DIR`: the positional argument is the run directory
        config_path, run_dir = None, config
    world = world_size_from_env()
    if nproc is not None and world > 1:
        raise GanError("--nproc starts its own processes; under torchrun, give torchrun --nproc-per-node instead")
    if nproc is not None and nproc > MAX_NPROC:
        raise GanError(f"--nproc {nproc}: at most {MAX_NPROC} processes on one machine; across machines, use torchrun --nnodes (docs/distributed.md)")
    if nproc is not None and nproc > 1:
        from gan_cli.training.launch import launch

        raise typer.Exit(launch(nproc, config_path, list(set_), run_dir, bool(resume), device, seed, dry_run))
    train_args = dict(
        config_path=str(config_path) if config_path is not None else None,
        overrides=list(set_),
        out=str(run_dir) if run_dir is not None else None,
        resume=bool(resume),
        device=device,
        seed=seed,
        dry_run=dry_run,
    )
    try:
        if world > 1:  # a worker of torchrun (or of `gan train --nproc`)
            as_worker(lambda ranks: train_experiment(**train_args, ranks=ranks))
        else:
            train_experiment(**train_args)
    except Interrupted as exc:
        run_dir_path = exc.ckpt_path.parent.parent
        again = f" --nproc {os.environ.get('LOCAL_WORLD_SIZE', world)}" if world > 1 else ""
        _interrupted(f"interrupted by {exc.signal_name}: checkpoint written to {exc.ckpt_path}", f"gan train --resume {shlex.quote(str(run_dir_path))}{again}")
    except KeyboardInterrupt:
        # Ctrl-C before the loop took over the signal (loading data, building nets): nothing to save
        err.print("interrupted before training started; no checkpoint was written", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None


eval_app = typer.Typer(rich_markup_mode=None, help="Measure a checkpoint (gan eval --ckpt ...), or train a dataset's feature network (gan eval features).")
app.add_typer(eval_app, name="eval")


@eval_app.callback(invoke_without_command=True)
@user_errors
def eval_(
    ctx: typer.Context,
    ckpt: Annotated[Optional[Path], typer.Option("--ckpt", help="Checkpoint file or run directory (uses checkpoints/last.pt).")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Held-out split: valid | test (default: the config's eval.split).")] = None,
    num_samples: Annotated[Optional[int], typer.Option("--num-samples", help="Generated samples per metric (default: eval.generated_samples).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of every random number of the evaluation (default: eval.seed).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Where to write the results (default RUN_DIR/eval.json).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps (default: the config's device).")] = None,
    all_: Annotated[Optional[Path], typer.Option("--all", help="Evaluate every checkpoint of this run directory: one row each in RUN_DIR/eval_all.jsonl (or --json), a PNG per metric against step in RUN_DIR/eval_all/.")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", help="G's weights: ema (moving average, train.ema) | raw (default: ema when the checkpoint has it).")] = None,
) -> None:
    """Measure a checkpoint: V(G, D), JSD bounds and estimates, modes, Parzen log-likelihood, FID, KID, precision/recall."""
    from gan_cli.evaluate.command import EvalOptions, evaluate_command

    if ctx.invoked_subcommand is not None:
        return
    if ckpt is None and all_ is None:
        raise typer.BadParameter("missing: give a checkpoint file or run directory, --all RUN_DIR, or the subcommand features", ctx, param_hint="'--ckpt'")
    if seed is not None:
        check_seed(seed, "--seed")
    if num_samples is not None:
        _check_count(num_samples, "--num-samples")
    if all_ is not None:
        from gan_cli.evaluate.all_steps import evaluate_all_command

        if ckpt is not None:
            raise GanError("--ckpt and --all: give one of them (--all evaluates every checkpoint of a run directory)")
        evaluate_all_command(all_, EvalOptions(split, num_samples, seed, json_path, device, weights))
        return
    evaluate_command(ckpt, EvalOptions(split, num_samples, seed, json_path, device, weights))


@eval_app.command("features")
@user_errors
def eval_features(
    data: Annotated[Path, typer.Option("--data", help="Experiment YAML whose data section names the dataset (mnist, fashion-mnist, digits).")],
    set_: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key, e.g. --set data.root=/data (repeatable).")] = [],  # noqa: B006
    force: Annotated[bool, typer.Option("--force", help="Retrain even when a cached network is there.")] = False,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Adam updates of 128 images (default: 20 epochs, within 300..1,200).")] = None,
) -> None:
    """Train the dataset's feature network (a small CNN classifier) once and cache it under data.root."""
    from gan_cli.evaluate.feature_cache import features_command

    if steps is not None and not 1 <= steps <= 1_000_000:
        raise GanError(f"--steps {steps}: must be between 1 and 1,000,000")
    features_command(data, list(set_), force, steps, Console(highlight=False))


@app.command()
@user_errors
def sample(
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Checkpoint file or run directory (uses checkpoints/last.pt).")],
    n: Annotated[int, typer.Option("-n", "--num", help="Number of samples.", min=1)] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the noise; the same seed gives the same samples.")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", help="FILE.png (picture), .npy or .pt (raw samples).")] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps.")] = "cpu",
    nearest: Annotated[bool, typer.Option("--nearest", help="Figure 2: rows of samples, the rightmost column the nearest training example (pixel space) of its neighbour, outlined in yellow.")] = False,
    interpolate: Annotated[bool, typer.Option("--interpolate", help="Figure 3: each row decodes a straight line between two random z.")] = False,
    cols: Annotated[Optional[int], typer.Option("--cols", help="Tiles per row for --nearest (default 6) or --interpolate (default 10); -n is rounded up to full rows.", min=2)] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", help="G's weights: ema (moving average, train.ema) | raw (default: ema when the checkpoint has it).")] = None,
) -> None:
    """Draw samples from a trained generator."""
    from gan_cli.figures.samples import sample_command

    check_seed(seed, "--seed")
    _check_count(n, "-n")
    if cols is not None and cols > MAX_COLS:
        raise GanError(f"--cols {cols}: at most {MAX_COLS} tiles per row")
    if nearest and interpolate:
        raise GanError("--nearest and --interpolate make different pictures: give one of them")
    if nearest or interpolate:
        from gan_cli.figures.paper_grids import figure_command

        path = figure_command(ckpt, n, seed, out, device, "nearest" if nearest else "interpolate", cols, weights)
        typer.echo(f"wrote {path}")
        return
    path = sample_command(ckpt, n, seed, out, device, weights)
    typer.echo(f"wrote {n} samples to {path}")


@app.command("config")
@user_errors
def config_keys(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table with its header row (as in docs/config.md).")] = False,
) -> None:
    """List every config key with its default and meaning."""
    import json

    from gan_cli.config import field_docs

    if markdown:
        typer.echo("| key | default | meaning |\n|---|---|---|")
    for key, default, doc in field_docs():
        shown = default if isinstance(default, str) else json.dumps(default)
        if markdown:
            typer.echo(f"| `{key}` | `{shown}` | {doc.replace('|', '&#124;')} |")
        else:
            typer.echo(f"{key} = {shown}\n    {doc}")


plot_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Pictures of a run: training curves, the paper's Figure 1.")
app.add_typer(plot_app, name="plot")


@plot_app.command("curves")
@user_errors
def plot_curves_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (may still be training).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.png to write.")],
) -> None:
    """V(G, D) with -log 4, mean D(x) and D(G(z)) with 1/2, losses, lr and momentum against steps."""
    from gan_cli.figures.curves import plot_curves

    path = plot_curves(run_dir, out)
    typer.echo(f"wrote {path}")


@plot_app.command("figure1")
@user_errors
def plot_figure1_cmd(
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Run directory of a 1-D run (configs/gaussian1d.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.png to write.")],
) -> None:
    """Figure 1: p_data, p_g, D and D* with the z -> x = G(z) arrows, early, mid, after a G step, end."""
    from gan_cli.figures.figure1 import figure1_command

    path, stats = figure1_command(ckpt, out)
    typer.echo(f"wrote {path}; final JSD(p_data || p_g) = {stats['jsd']:.4f} nats, max |D - 1/2| = {stats['max_abs_d_minus_half']:.4f}")


@app.command()
@user_errors
def sweep(
    sweep_file: Annotated[Optional[Path], typer.Argument(help="Sweep YAML (base config, seeds, grid, eval, resources); with --resume: the sweep directory.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Exact sweep directory (default runs/<name>-<YYYYmmdd-HHMMSS>).")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Run on an existing Ray cluster: auto | HOST:6379 | ray://HOST:10001 (default: start a local Ray).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the sweep directory given as the argument: skip finished trials, resume interrupted ones.")] = False,
    cpus: Annotated[Optional[int], typer.Option("--cpus", help="CPUs the local Ray may use (default: all).")] = None,
) -> None:
    """Run a config over seeds and a grid of --set values on Ray; one run directory per trial, a table across seeds."""
    from gan_cli.sweep.command import SweepInterrupted, sweep_command

    if resume and sweep_file is None:
        raise GanError("--resume needs the sweep directory: gan sweep --resume SWEEP_DIR")
    try:
        sweep_command(None if resume else sweep_file, out, address, sweep_file if resume else None, cpus)
    except SweepInterrupted as exc:
        _interrupted(f"interrupted: {exc.stopped} running trial(s) checkpointed, {exc.remaining} trial(s) left", f"gan sweep --resume {shlex.quote(str(exc.sweep_dir))}")


def main() -> None:
    """Console-script entry point. Ctrl-C and SIGTERM stop every command the same way, however it
    was started: a job put in the background by a non-interactive shell (nohup, `&` in a script, a
    CI runner) inherits SIGINT *ignored*, and `kill -INT` or a terminal's Ctrl-C would then do nothing."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
