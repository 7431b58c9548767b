"""The `gan` command: thin Typer commands, each calling one function; GanError -> one line, exit 1."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

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


def _fail(exc: GanError) -> None:
    err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


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
    except GanError as exc:
        _fail(exc)
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


eval_app = typer.Typer(help="Measure a checkpoint (gan eval --ckpt ...), or train a dataset's feature network (gan eval features).")
app.add_typer(eval_app, name="eval")


@eval_app.callback(invoke_without_command=True)
def eval_(
    ctx: typer.Context,
    ckpt: Annotated[Optional[Path], typer.Option("--ckpt", help="Checkpoint file or run directory (uses checkpoints/last.pt).")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Held-out split: valid | test (default: the config's eval.split).")] = None,
    num_samples: Annotated[Optional[int], typer.Option("--num-samples", help="Generated samples per metric (default: eval.num_samples).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of every random number of the evaluation (default: eval.seed).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Where to write the results (default RUN_DIR/eval.json).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps (default: the config's device).")] = None,
    all_: Annotated[Optional[Path], typer.Option("--all", help="Evaluate every checkpoint of this run directory: one row each in RUN_DIR/eval_all.jsonl (or --json), a PNG per metric against step in RUN_DIR/eval_all/.")] = None,
) -> None:
    """Measure a checkpoint: V(G, D), JSD bounds and estimates, modes, Parzen log-likelihood, FID, KID, precision/recall."""
    from gan_cli.evaluate.command import evaluate_command

    if ctx.invoked_subcommand is not None:
        return
    if ckpt is None and all_ is None:
        raise typer.BadParameter("missing: give a checkpoint file or run directory, --all RUN_DIR, or the subcommand features", ctx, param_hint="'--ckpt'")
    try:
        if all_ is not None:
            from gan_cli.evaluate.all_steps import evaluate_all_command

            if ckpt is not None:
                raise GanError("--ckpt and --all: give one of them (--all evaluates every checkpoint of a run directory)")
            evaluate_all_command(all_, split, num_samples, seed, json_path, device)
            return
        evaluate_command(ckpt, split, num_samples, seed, json_path, device)
    except GanError as exc:
        _fail(exc)


@eval_app.command("features")
def eval_features(
    data: Annotated[Path, typer.Option("--data", help="Experiment YAML whose data section names the dataset (mnist, fashion-mnist, digits).")],
    set_: Annotated[list[str], typer.Option("--set", help="Override a config key, e.g. --set data.root=/data (repeatable).")] = [],  # noqa: B006
    force: Annotated[bool, typer.Option("--force", help="Retrain even when a cached network is there.")] = False,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Adam updates of 128 images (default: 20 epochs, within 300..1,200).")] = None,
) -> None:
    """Train the dataset's feature network (a small CNN classifier) once and cache it under data.root."""
    from gan_cli.evaluate.feature_cache import features_command

    try:
        features_command(data, list(set_), force, steps, Console(highlight=False))
    except GanError as exc:
        _fail(exc)


@app.command()
def sample(
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Checkpoint file or run directory (uses checkpoints/last.pt).")],
    n: Annotated[int, typer.Option("-n", "--num", help="Number of samples.", min=1)] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the noise; the same seed gives the same samples.")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", help="FILE.png (picture), .npy or .pt (raw samples).")] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N | mps.")] = "cpu",
    nearest: Annotated[bool, typer.Option("--nearest", help="Figure 2: rows of samples, the rightmost column the nearest training example (pixel space) of its neighbour, outlined in yellow.")] = False,
    interpolate: Annotated[bool, typer.Option("--interpolate", help="Figure 3: each row decodes a straight line between two random z.")] = False,
    cols: Annotated[Optional[int], typer.Option("--cols", help="Tiles per row for --nearest (default 6) or --interpolate (default 10); -n is rounded up to full rows.", min=2)] = None,
) -> None:
    """Draw samples from a trained generator."""
    from gan_cli.sample import sample_command

    try:
        if nearest and interpolate:
            raise GanError("--nearest and --interpolate make different pictures: give one of them")
        if nearest or interpolate:
            from gan_cli.figures.paper_grids import figure_command

            path = figure_command(ckpt, n, seed, out, device, "nearest" if nearest else "interpolate", cols)
            typer.echo(f"wrote {path}")
            return
        path = sample_command(ckpt, n, seed, out, device)
    except GanError as exc:
        _fail(exc)
    else:
        typer.echo(f"wrote {n} samples to {path}")


@app.command("config")
def config_keys(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table (as in the README).")] = False,
) -> None:
    """List every config key with its default and meaning."""
    import json

    from gan_cli.config import field_docs

    for key, default, doc in field_docs():
        shown = default if isinstance(default, str) else json.dumps(default)
        if markdown:
            typer.echo(f"| `{key}` | `{shown}` | {doc.replace('|', '&#124;')} |")
        else:
            typer.echo(f"{key} = {shown}\n    {doc}")


plot_app = typer.Typer(no_args_is_help=True, help="Pictures of a run: training curves, the paper's Figure 1.")
app.add_typer(plot_app, name="plot")


@plot_app.command("curves")
def plot_curves_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (may still be training).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.png to write.")],
) -> None:
    """V(G, D) with -log 4, mean D(x) and D(G(z)) with 1/2, losses, lr and momentum against steps."""
    from gan_cli.figures.curves import plot_curves

    try:
        path = plot_curves(run_dir, out)
    except GanError as exc:
        _fail(exc)
    else:
        typer.echo(f"wrote {path}")


@plot_app.command("figure1")
def plot_figure1_cmd(
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Run directory of a 1-D run (configs/gaussian1d.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.png to write.")],
) -> None:
    """Figure 1: p_data, p_g, D and D* with the z -> x = G(z) arrows, early, mid, after a G step, end."""
    from gan_cli.figures.figure1 import figure1_command

    try:
        path, stats = figure1_command(ckpt, out)
    except GanError as exc:
        _fail(exc)
    else:
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
