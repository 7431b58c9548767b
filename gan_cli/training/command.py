"""`gan train`: resolve the config, check everything, then create the run directory and train.

Everything that can fail because of the user's input (config, data, device, run directory) is
checked before the run directory is created, so a mistake never leaves a half-written run.
"""

from __future__ import annotations

import dataclasses
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

from gan_cli import __version__, checkpoint, data, models, runlog
from gan_cli import config as config_mod
from gan_cli.config import Config, to_dict
from gan_cli.errors import GanError
from gan_cli.figures.samples import draw
from gan_cli.training.console import Reporter
from gan_cli.training.distributed import data_order_note
from gan_cli.training.loop import Trainer, budget_steps, with_lr
from gan_cli.training.ranks import Ranks, Solo, yaml_comment
from gan_cli.training.run import RunHooks, run
from gan_cli.training.selection import make_hook as selection_hook

# sections whose change would make a resumed run a different experiment
FROZEN_ON_RESUME = ("name", "seed", "data", "noise", "generator", "discriminator")
FROZEN_TRAIN_KEYS = ("update", "k", "generator_loss", "d_loss_scale", "batch_size", "optimizer")


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: d}


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(refused, allowed) differences between a checkpoint's config and a resumed one, as 'key: a -> b'."""
    a, b = _flatten(old), _flatten(new)
    refused, allowed = [], []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        line = f"{key}: {a.get(key)!r} -> {b.get(key)!r}"
        top, _, rest = key.partition(".")
        frozen = top in FROZEN_ON_RESUME or (top == "train" and rest.split(".")[0] in FROZEN_TRAIN_KEYS)
        (refused if frozen else allowed).append(line)
    return refused, allowed


def _resolve_config(config_path: str | None, overrides: list[str], out: str | None, resume: bool, seed: int | None, device: str | None) -> tuple[Config, Path | None]:
    extra = list(overrides)
    if seed is not None:
        extra.append(f"seed={seed}")
    if device is not None:
        extra.append(f"device={device}")
    run_dir = Path(out).expanduser() if out else None
    if config_path is None:
        if not resume or run_dir is None:
            raise GanError("give a CONFIG.yaml, or --resume with the run directory to continue")
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise GanError(f"{run_dir} has no config.yaml: is it a gan-cli run directory?")
        return config_mod.load(saved, extra), run_dir
    return config_mod.load(config_path, extra), run_dir


def _write_command(run_dir: Path, device: torch.device, note: str = "") -> None:
    lines = [
        "command: " + " ".join(shlex.quote(a) for a in ["gan", *sys.argv[1:]]),
        f"gan-cli {__version__}; torch {torch.__version__}; python {platform.python_version()}; device {device}",
    ]
    if note:
        lines.append(note)
    with open(run_dir / "command.txt", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n\n")


def _note_rollback(run_dir: Path, note: str) -> None:
    """A NaN rollback: warn on stderr (even when quiet) and keep the note in command.txt."""
    print(f"warning: {note}", file=sys.stderr, flush=True)
    with open(run_dir / "command.txt", "a", encoding="utf-8") as fh:
        fh.write(note + "\n")


def _tensorboard_writer(cfg: Config) -> Any:
    """The SummaryWriter class when log.tensorboard is on; checked before the run directory exists."""
    if not cfg.log.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GanError("log.tensorboard: true needs the tensorboard package: pip install tensorboard (or set it to false)") from None
    return SummaryWriter


MAX_PARAMETERS = 2**31 - 1
"""Most parameters either net may have: 8.6 GB of float32 weights, before gradients and optimizer state."""

RUN_FILES = {"config.yaml", "command.txt", "metrics.jsonl", "selection.jsonl", "samples", "checkpoints", "tb"}
"""What a run directory holds; a directory of only these and no checkpoint is a run that failed to start."""


def parameter_counts(cfg: Config, dim: int) -> tuple[int, int]:
    """(G, D) parameter counts for data of `dim` values, built on the meta device (no memory used)."""
    with torch.device("meta"):
        g, d = models.build(cfg, dim)
    return models.count_parameters(g), models.count_parameters(d)


def _check_size(cfg: Config, dim: int) -> tuple[int, int]:
    counts = parameter_counts(cfg, dim)
    for net, n, keys in (("generator", counts[0], "noise.dim and generator.hidden"), ("discriminator", counts[1], "discriminator.hidden")):
        if n > MAX_PARAMETERS:
            raise GanError(f"{net}: {n:,} parameters, more than the {MAX_PARAMETERS:,} this machine's memory could hold; make {keys} smaller")
    return counts


def dry_run_header(cfg: Config, device: torch.device) -> str:
    """The resolved config with the device chosen, and the nets' sizes when the data's size is known."""
    text = config_mod.dump_yaml(dataclasses.replace(cfg, device=str(device)))
    dim = data.known_dim(cfg)
    if dim is None:
        return text + "\n# parameter counts: known once the data is loaded\n"
    g, d = _check_size(cfg, dim)
    return text + f"\n# generator parameters: {g:,}\n# discriminator parameters: {d:,}\n"


def dry_run_data(cfg: Config, trainer: Trainer, total: int) -> str:
    """What only the loaded data tells: the nets' sizes where the config alone did not, the budget."""
    sizes = ""
    if data.known_dim(cfg) is None:
        g, d = models.count_parameters(trainer.G), models.count_parameters(trainer.D)
        sizes = f"# generator parameters: {g:,}\n# discriminator parameters: {d:,}\n"
    return sizes + f"# training examples: {len(trainer.train_data):,}; steps: {total:,} ({trainer.sampler.batches_per_epoch:,} batches per epoch)\n"


def failed_start(run_dir: Path) -> bool:
    """True when `run_dir` holds only a run's own files and no checkpoint: a run that stopped before its first."""
    entries = {p.name for p in run_dir.iterdir()}
    ckpts = checkpoint.checkpoint_dir(run_dir)
    no_checkpoint = not ckpts.exists() or not any(ckpts.glob("*.pt"))
    return "config.yaml" in entries and entries <= RUN_FILES and no_checkpoint


def _check_out(run_dir: Path | None, resume: bool) -> None:
    """Refuse an --out that the run could not use, before any work (--dry-run included)."""
    if run_dir is None:
        if resume:
            raise GanError("--resume needs --out RUN_DIR (the run to continue)")
        return
    if run_dir.exists() and not run_dir.is_dir():
        raise GanError(f"--out {run_dir} exists and is not a directory")
    if resume:
        last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
        if last.is_file():
            return
        if run_dir.is_dir() and failed_start(run_dir):
            raise GanError(
                f"--resume: {run_dir} stopped before its first checkpoint, so there is nothing to resume; "
                f"run the same command without --resume to start it again in that directory"
            )
        raise GanError(f"--resume: {last} does not exist; nothing to resume (drop --resume to start a new run)")
    if checkpoint.is_nonempty_dir(run_dir) and not failed_start(run_dir):
        raise GanError(f"--out {run_dir} exists and is not empty: choose another directory, or add --resume to continue it")


def _clear_failed_start(run_dir: Path) -> str:
    """Empty a run directory whose run stopped before its first checkpoint (command.txt keeps its history)."""
    import shutil

    for name in ("metrics.jsonl", "selection.jsonl", "config.yaml"):
        (run_dir / name).unlink(missing_ok=True)
    for name in ("samples", "tb"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    return "restarted: the earlier start in this directory stopped before its first checkpoint"


def train_experiment(
    config_path: str | None,
    overrides: list[str],
    out: str | None = None,
    resume: bool = False,
    device: str | None = None,
    seed: int | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    ranks: Ranks | None = None,
) -> Path | None:
    """Run `gan train`; returns the run directory (None for --dry-run). Raises GanError, Interrupted.

    `ranks`: this process is one of several (torchrun); only rank 0 writes the run directory."""
    reporter = reporter or Reporter()
    processes = ranks or Solo()
    cfg, run_dir = _resolve_config(config_path, overrides, out, resume, seed, device)
    dev = processes.device(cfg.device)
    _check_out(run_dir, resume)
    if resume and run_dir is not None:  # a resumed run keeps the random streams it started with (gan_cli/seeds.py)
        cfg = dataclasses.replace(cfg, seed_scheme=checkpoint.seed_scheme(checkpoint.checkpoint_dir(run_dir) / "last.pt") or cfg.seed_scheme)
    if dry_run:  # the config and the nets' sizes first: a missing dataset is reported after them
        reporter.print(dry_run_header(cfg, dev))
    elif data.known_dim(cfg) is not None:
        _check_size(cfg, data.known_dim(cfg))
    dataset = data.load(cfg)
    _check_size(cfg, dataset.dim)
    trainer = processes.trainer(cfg, dataset, dev)
    summary_writer_cls = _tensorboard_writer(cfg)
    total = budget_steps(cfg, trainer.sampler.batches_per_epoch)
    if dry_run:
        reporter.print(dry_run_data(cfg, trainer, total))
        return None

    note = ""
    restart = False
    if resume:
        assert run_dir is not None
        last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
        # on the CPU: RNG and generator states must be CPU tensors; load_state_dict moves the weights
        ckpt = checkpoint.load(last)
        # a run that rolled back from NaN saved its scaled lr; compare like with like
        lr_scale = ckpt.get("schedule", {}).get("lr_scale", 1.0) if isinstance(ckpt.get("schedule"), dict) else 1.0
        expected = with_lr(cfg, cfg.train.optimizer.lr * lr_scale) if isinstance(lr_scale, float) and lr_scale != 1.0 else cfg
        refused, allowed = config_differences(ckpt["config"], to_dict(expected))
        if refused:
            raise GanError(
                "--resume: the config differs from the checkpoint's in keys that define the experiment "
                "(start a new run for these):",
                refused,
            )
        try:
            trainer.load_state_dict(ckpt)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
            raise GanError(f"--resume: {last} is damaged or does not match its config: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        if trainer.step > total:
            raise GanError(
                f"--resume: the run is at step {trainer.step}, past the budget of {total} steps; "
                f"set a larger budget, e.g. --set train.steps={2 * trainer.step}"
            )
        checkpoint.remove_stale_temps(run_dir)
        note = f"resumed from step {trainer.step}" + (": changed " + "; ".join(allowed) if allowed else "")
        note += data_order_note(trainer, ckpt)
    else:
        if run_dir is None:
            run_dir = processes.default_run_dir(cfg.name)
        elif run_dir.is_dir() and checkpoint.is_nonempty_dir(run_dir):  # _check_out allowed it: a failed start
            restart = True
    processes.agree()  # several processes: every rank's checks passed before rank 0 writes anything
    if not processes.writes:  # rank 0 writes the run directory; this rank trains beside it
        run(trainer, run_dir, total, RunHooks(), processes)
        return run_dir
    if restart:
        note = _clear_failed_start(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        checkpoint.checkpoint_dir(run_dir).mkdir(exist_ok=True)
        if resume:
            runlog.rewind(run_dir / "metrics.jsonl", trainer.step)
        processes_note = processes.note(cfg)
        (run_dir / "config.yaml").write_text(yaml_comment(processes_note) + yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
        _write_command(run_dir, dev, "\n".join(n for n in (processes_note, note) if n))
    except OSError as exc:
        raise GanError(f"cannot write the run directory {run_dir}: {exc.strerror or exc}") from None

    picture_failed = False

    def on_samples(tr: Trainer) -> None:
        nonlocal picture_failed
        path = run_dir / "samples" / f"step_{tr.step:07d}.png"
        try:
            draw(
                tr.fixed_samples().cpu(),
                tr.data_info,
                path,
                target=dataset.target,
                D=tr.D,
                device=tr.device,
                real=dataset.train[:2_000] if not dataset.is_image else None,
                title=f"step {tr.step}",
                G=tr.G,
                noise=cfg.noise,
            )
        except Exception as exc:  # noqa: BLE001 - a picture must never stop training, whatever broke it
            if not picture_failed:
                picture_failed = True
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                reporter.warn(f"could not draw the samples picture at step {tr.step} ({first}); training goes on, without pictures if it keeps failing")

    on_log = reporter.log_row
    writer = summary_writer_cls(str(run_dir / "tb")) if summary_writer_cls else None
    if writer is not None:

        def on_log(row: dict[str, Any]) -> None:
            reporter.log_row(row)
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    writer.add_scalar(key, value, row["step"])
            writer.flush()

    if dataset.is_image and not (run_dir / "samples" / "real.png").exists():
        # the training data beside G's samples, for comparison by eye
        draw(dataset.train[: cfg.log.num_samples], trainer.data_info, run_dir / "samples" / "real.png")

    reporter.banner(run_dir, dev, models.count_parameters(trainer.G), models.count_parameters(trainer.D), trainer.step, total, processes.note(cfg))
    try:
        with reporter.progress(total, trainer.step) as advance:
            hooks = RunHooks(
                on_log=on_log,
                on_samples=on_samples,
                on_select=selection_hook(trainer, run_dir),
                on_progress=advance,
                on_rollback=lambda note: _note_rollback(run_dir, note),
            )
            run(trainer, run_dir, total, hooks, processes)
    except OSError as exc:
        raise GanError(
            f"writing to {run_dir} failed: {exc.strerror or exc}; the last good checkpoint is "
            f"{checkpoint.checkpoint_dir(run_dir) / 'last.pt'}"
        ) from None
    finally:
        if writer is not None:
            writer.close()
    reporter.done(run_dir)
    return run_dir
