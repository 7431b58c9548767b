"""The `gan` command: thin Typer commands, each calling one function; `user_errors` turns GanError into one line, exit 1."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console

from gan_cli import __version__
from gan_cli.errors import GanError

app = typer.Typer(
    add_completion=False,
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
    set_: Annotated[list[str], typer.Option("--set", help="Override a config key: --set train.batch_size=64 (repeatable; value parsed as YAML).")] = [],  # noqa: B006
    out: Annotated[Optional[Path], typer.Option("--out", help="Exact run directory (default runs/<name>-<YYYYmmdd-HHMMSS>).")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue the run in --out from checkpoints/last.pt.")] = False,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps (overrides the config).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (overrides the config).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config and parameter counts; train nothing.")] = False,
) -> None:
    """Train G and D on the experiment in CONFIG; write checkpoints, samples and metrics to a run directory."""
    from gan_cli.training.command import train_experiment
    from gan_cli.training.loop import Interrupted

    config_path = config
    run_dir = out
    if resume and config is not None and out is None and config.is_dir():
        # `gan train --resume RUN_DIR`: the positional argument is the run directory
        config_path, run_dir = None, config
    try:
        train_experiment(
            str(config_path) if config_path is not None else None,
            list(set_),
            out=str(run_dir) if run_dir is not None else None,
            resume=bool(resume),
            device=device,
            seed=seed,
            dry_run=dry_run,
        )
    except Interrupted as exc:
        run_dir_path = exc.ckpt_path.parent.parent
        err.print(
            f"interrupted by {exc.signal_name}: checkpoint written to {exc.ckpt_path}\n"
            f"resume with: gan train --resume {run_dir_path}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        # Ctrl-C before the loop took over the signal (loading data, building nets): nothing to save
        err.print("interrupted before training started; no checkpoint was written", markup=False, highlight=False)
        raise typer.Exit(130) from None


@app.command("eval")
@user_errors
def eval_(
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Checkpoint file or run directory (uses checkpoints/last.pt).")],
    split: Annotated[Optional[str], typer.Option("--split", help="Held-out split: valid | test (default: the config's eval.split).")] = None,
    num_samples: Annotated[Optional[int], typer.Option("--num-samples", help="Generated samples per metric (default: eval.num_samples).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of every random number of the evaluation (default: eval.seed).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Where to write the results (default RUN_DIR/eval.json).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps (default: the config's device).")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", help="G's weights: ema (moving average, train.ema) | raw (default: ema when the checkpoint has it).")] = None,
) -> None:
    """Measure a checkpoint: V(G, D), JSD bounds and estimates, modes, Parzen log-likelihood."""
    from gan_cli.evaluate.command import evaluate_command

    evaluate_command(ckpt, split, num_samples, seed, json_path, device, weights=weights)


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


plot_app = typer.Typer(no_args_is_help=True, help="Pictures of a run: training curves, the paper's Figure 1.")
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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
