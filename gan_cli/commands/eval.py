"""`gan eval --ckpt` and `gan eval --all`: measure a checkpoint, or every checkpoint of a run.

Every destination is checked before the work starts; the results are printed before they are
written, so a late write failure never loses the numbers. Writing into a run directory holds the
run's outputs lock (gan_cli.run_dir), so two evaluations never write one run's files at once,
while a run that is still training goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from gan_cli import checkpoint, consoles, devices, models, outputs, run_dir, toy
from gan_cli import config as config_mod
from gan_cli.config import RENAMES
from gan_cli.errors import GanError, Stopped
from gan_cli.evaluate import critic as critic_mod
from gan_cli.evaluate import parzen
from gan_cli.evaluate.measure import evaluate, load_for_eval
from gan_cli.evaluate.report import format_value, headline, print_report, steps_table, write_json
from gan_cli.run_dir import RunDir
from gan_cli.runlog import json_safe
from gan_cli.sample import Loaded, output_dim
from gan_cli.training import tensorboard
from gan_cli.training.console import clock, now


@dataclass(frozen=True)
class EvalOptions:
    """The options of `gan eval`; None takes the value from the checkpoint config's eval section."""

    ckpt: Path | None = None
    """A checkpoint file or a run directory (its checkpoints/last.pt)."""
    all_run: Path | None = None
    """`--all RUN_DIR`: every checkpoint of the run."""
    split: str | None = None
    num_samples: int | None = None
    seed: int | None = None
    json_path: Path | None = None
    device: str | None = None
    weights: str | None = None
    """ema | raw; None: ema when the checkpoint has it."""
    overrides: tuple[str, ...] = ()
    """`--set KEY=VALUE` items (eval.* and data.root only), applied for this evaluation only."""


EVAL_KEYS = ("eval.", "data.root")
"""What `gan eval --set` may change: how the checkpoint is measured, and where its data lies."""


def check_overrides(overrides: tuple[str, ...]) -> None:
    """Refuse, in one line, a `--set` outside eval.* and data.root, or an unknown or malformed key
    (naming the closest valid one); its value is checked once the checkpoint's config is loaded."""
    _one_line(lambda: config_mod.apply_overrides({}, list(overrides)))
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        key = RENAMES.get(key, key)
        if not (key.startswith(EVAL_KEYS[0]) or key == EVAL_KEYS[1]):
            raise GanError(
                f"--set {key}: gan eval may set only eval.* keys and data.root (the rest is the checkpoint's training); "
                f"e.g. --set eval.critic.steps=2000"
            )


def _one_line(step: Callable[[], Any]) -> Any:
    """`step()`, with a GanError's listed problems joined into its one line."""
    try:
        return step()
    except GanError as exc:
        if not exc.problems:
            raise
        raise GanError("; ".join(exc.problems)) from None


def eval_settings(loaded: Loaded, run: RunDir, overrides: tuple[str, ...]) -> Loaded:
    """The checkpoint with the config this evaluation reads: its eval section from the run's
    config.yaml where the run has one (`gan train --resume --set eval.*` rewrites that file, not
    the older checkpoints), else the checkpoint's own; then `overrides`."""
    raw = config_mod.to_dict(loaded.cfg)
    if run.config.is_file():
        try:
            section = config_mod.migrate(config_mod.read_yaml(run.config)).get("eval")
        except GanError:
            section = None  # a damaged config.yaml: the checkpoint's eval section, which always loads
        if isinstance(section, dict):
            trial = {**raw, "eval": section}
            with contextlib.suppress(GanError):
                config_mod.from_dict(trial)
                raw = trial
    if raw == config_mod.to_dict(loaded.cfg) and not overrides:
        return loaded
    cfg = _one_line(lambda: config_mod.from_dict(config_mod.apply_overrides(raw, list(overrides))))
    return dataclasses.replace(loaded, cfg=cfg)


def eval_command(options: EvalOptions, console: Console | None = None) -> dict[str, Any] | list[dict[str, Any]]:
    """`gan eval`: the eval.json dict of one checkpoint, or the rows of `--all`."""
    console = console or consoles.plain()
    if options.ckpt is None and options.all_run is None:
        raise GanError("gan eval: give --ckpt CHECKPOINT_OR_RUN_DIR, --all RUN_DIR, or the subcommand features")
    if options.ckpt is not None and options.all_run is not None:
        raise GanError("--ckpt and --all: give one of them (--all evaluates every checkpoint of a run directory)")
    if options.seed is not None and options.seed < 0:
        raise GanError(f"--seed {options.seed}: must be >= 0")
    try:
        with devices.memory_as_error(
            lambda size: (
                f"out of memory: the evaluation asked for {size} more than the device has; lower --num-samples (eval.generated_samples)"
            )
        ):
            if options.all_run is not None:
                return evaluate_all(options.all_run, options, console)
            return evaluate_one(options.ckpt or Path(), options, console)
    except KeyboardInterrupt:
        raise Stopped(
            "gan eval interrupted: nothing was written (the files from an earlier evaluation are kept)", 130
        ) from None


def _settings(options: EvalOptions, cfg_eval: Any) -> tuple[str, int, int]:
    """(split, generated samples, seed): the options, else the config's eval section."""
    n = options.num_samples if options.num_samples is not None else cfg_eval.generated_samples
    return options.split or cfg_eval.split, n, cfg_eval.seed if options.seed is None else options.seed


OUTPUT_BYTES = 4_000_000
"""Disk an evaluation's files take at most, bytes: eval.json about 14 KB and its density picture
50 KB; --all's eval_all.jsonl and a picture a metric (about 25 of some 60 KB). Rounded up."""


def _check_destination(out: Path, *beside: Path) -> None:
    """--json's file (and the pictures `beside` it) may be written: checked, and its folder made,
    with room for them on its disk (a full disk failed the evaluation at its end)."""
    for path in (out, *beside):
        outputs.check_target(path, "--json")
    outputs.check_writable(out.parent, f"--json {out}")  # its folder, or the nearest one that exists
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanError(f"--json {out}: cannot create its directory: {exc.strerror or exc}") from None
    outputs.check_free_space(out, OUTPUT_BYTES, "--json", "free some space there or give --json a file on another disk")


def _progress(console: Console) -> Callable[[str], None]:
    """Each section of an evaluation as it starts, with the time so far and the clock, on stderr:
    an evaluation takes minutes (the critics most of it), and says what it is doing."""
    start = time.perf_counter()

    def say(what: str) -> None:
        elapsed = clock(time.perf_counter() - start)
        print(f"gan eval: {what} ... (elapsed {elapsed}, at {now()})", file=sys.stderr, flush=True)

    return say


def _writing_into(run: RunDir, path: Path) -> bool:
    try:
        return path.resolve().parent == run.path.resolve()
    except OSError:
        return False


EXACT_1D_NODE_BYTES = 240
"""Peak memory of the exact 1-D p_g per noise node (eval.density.z_grid), bytes: measured 217 a node
from 1e6 to 1e7 nodes (peak RSS of gan eval on configs/gaussian1d.yaml's nets), rounded up."""
EXACT_1D_BIN_BYTES = 240
"""Per x bin (eval.density.x_bins) and mixture component, bytes: measured 210 a bin from 2e4 to 1e7
bins of one Gaussian, rounded up."""


def _check_memory(loaded: Loaded, n: int) -> None:
    """Each count that makes a section draw samples through G in one go (and Parzen's distances to
    its kernels, an exact W1's cost matrix) against the host memory available, before any sample:
    an allocation past it swaps or wakes the kernel's OOM killer rather than failing cleanly.
    eval.memorisation.samples is not among them: it draws no more than the held-out split holds."""
    cfg, ev = loaded.cfg, loaded.cfg.eval
    dim = output_dim(loaded.ckpt["generator"])
    kernels = ev.parzen.kernels or n
    as_kernels = f"eval.parzen.kernels {kernels:,}" if ev.parzen.kernels else f"--num-samples {n:,} as Parzen kernels"
    draws = {
        f"--num-samples {n:,} (eval.generated_samples)": n,
        as_kernels: kernels,
        f"eval.modes.generated_samples {ev.modes.generated_samples:,}": ev.modes.generated_samples,
        f"eval.stacked.generated_samples {ev.stacked.generated_samples:,}": ev.stacked.generated_samples,
    }
    for what, rows in draws.items():
        scoring = parzen.chunk_bytes(parzen.CHUNK, rows) if what == as_kernels else 0
        devices.check_host_memory(models.generator_pass_bytes(cfg, dim, rows) + scoring, what)
    w1 = ev.density.w1_samples
    devices.check_host_memory(3 * 8 * w1**2, f"eval.density.w1_samples {w1:,}")  # float64 n x n costs
    if cfg.data.name in config_mod.TOY_DATASETS and dim == 1 and cfg.noise.dim == 1:  # the exact 1-D p_g
        nodes, bins, modes = ev.density.z_grid, ev.density.x_bins, toy.from_config(cfg.data).num_modes
        devices.check_host_memory(
            EXACT_1D_NODE_BYTES * nodes + EXACT_1D_BIN_BYTES * modes * bins,
            f"eval.density.z_grid {nodes:,} and eval.density.x_bins {bins:,}",
        )
    if ev.critic.architecture == "mlp":
        with torch.device("meta"):  # built without memory, to count its parameters
            critic = critic_mod.build_critic(cfg, dim, critic_mod.CriticSettings("mlp", ev.critic.units))
        params = models.count_parameters(critic)
        # float32 weights, gradients, Adam's two moments and the best weights kept: 20 bytes a parameter
        devices.check_host_memory(20 * params, f"eval.critic.units {ev.critic.units:,} ({params:,} critic parameters)")


def evaluate_one(
    ckpt_path: str | Path, options: EvalOptions = EvalOptions(), console: Console | None = None
) -> dict[str, Any]:
    """Evaluate, print the table, write eval.json (default RUN_DIR/eval.json); returns the dict."""
    console = console or consoles.plain()
    check_overrides(options.overrides)
    loaded = load_for_eval(ckpt_path, options.device, options.weights)
    run = run_dir.of_checkpoint(Path(loaded.ckpt["path"]))
    loaded = eval_settings(loaded, run, options.overrides)
    out = options.json_path or run.eval_json
    figure = out.with_name(out.stem + "_density.png")
    _check_destination(out, figure)  # fail before the work, not after it
    settings = _settings(options, loaded.cfg.eval)
    _check_memory(loaded, settings[1])
    with run.writer("outputs", "gan eval") if _writing_into(run, out) else contextlib.nullcontext():
        result = evaluate(
            loaded,
            *settings,
            functools.partial(_density_picture, figure),
            _progress(console),
        )
        result["overrides"] = list(options.overrides)
        print_report(result, console)
        write_json(result, out)
        if _writing_into(run, out):
            tensorboard.log_eval(result)  # beside the run's training curves, where it keeps them
    console.print(f"wrote {out}", markup=False, highlight=False, soft_wrap=True)
    return result


def _density_picture(path: Path, target: Any, samples: Any, d_prob: Any, title: str, exact: Any) -> Path:
    from gan_cli.figures.density1d import save_density_1d

    try:
        save_density_1d(path, target, samples, d_prob, title, exact=exact, what="the density picture")
    except OSError as exc:
        raise GanError(f"cannot write the density picture {path}: {exc.strerror or exc}") from None
    return path


def checkpoints_of(run: RunDir) -> list[tuple[int, Path]]:
    """(step, file) of every periodic checkpoint of the run, and last.pt when it is newer; oldest first."""
    if not run.path.is_dir():
        raise GanError(f"--all {run.path}: not a directory; give a run directory (it holds checkpoints/)")
    found = run.step_checkpoints()
    if run.last.is_file():
        try:
            step = int(checkpoint.load(run.last)["step"])
        except GanError:
            step = -1  # reported when its turn comes
        if not found or step > found[-1][0]:
            found.append((step, run.last))
    if not found:
        raise GanError(
            f"--all {run.path}: no checkpoints in {run.checkpoints}: is it a run directory of a run that saved one?"
        )
    return found


def evaluate_all(
    run_path: str | Path, options: EvalOptions = EvalOptions(), console: Console | None = None
) -> list[dict[str, Any]]:
    """Evaluate each checkpoint alike (same split, n and seed); RUN_DIR/eval_all.jsonl (or --json)
    gets one eval.json object per checkpoint and RUN_DIR/eval_all/ a PNG per metric against step.
    A checkpoint that does not load (damaged, or pruned by log.keep while the run trains) is
    skipped with a line. The previous results are replaced only once the new ones are complete."""
    from gan_cli.figures.eval_steps import plot_eval_steps

    console = console or consoles.plain()
    check_overrides(options.overrides)
    run = RunDir(Path(run_path).expanduser())
    found = checkpoints_of(run)
    out = options.json_path or run.eval_all
    _check_destination(out)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    with run.writer("outputs", "gan eval --all") if _writing_into(run, out) else contextlib.nullcontext():
        fd, partial = outputs.temp_beside(out)
        start = time.perf_counter()
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for i, (step, path) in enumerate(found, 1):
                    try:
                        loaded = load_for_eval(path, options.device, options.weights)
                    except GanError as exc:
                        skipped.append(path.name)
                        console.print(
                            f"[{i}/{len(found)}] skipped {path.name}: {exc}",
                            markup=False,
                            highlight=False,
                            soft_wrap=True,
                        )
                        continue
                    loaded = eval_settings(loaded, run, options.overrides)
                    settings = _settings(options, loaded.cfg.eval)
                    _check_memory(loaded, settings[1])
                    result = evaluate(loaded, *settings)
                    result["overrides"] = list(options.overrides)
                    fh.write(json.dumps(json_safe(result), allow_nan=False) + "\n")
                    fh.flush()
                    rows.append(result)
                    shown = ", ".join(
                        f"{name} {format_value(result['metrics'][name]['value'])}" for name in headline(result)
                    )
                    spent = time.perf_counter() - start
                    eta = spent / i * (len(found) - i)  # at the mean time per checkpoint so far
                    console.print(
                        f"[{i}/{len(found)}] step {step:,} ({path.name}): {shown}  (elapsed {clock(spent)}, ETA {clock(eta)}, at {now()})",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )
            if not rows:
                raise GanError(f"--all {run.path}: none of its {len(found)} checkpoints could be loaded")
            console.print(steps_table(rows))
            os.replace(partial, out)
            if _writing_into(run, out):
                tensorboard.log_eval(*rows)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        figures = plot_eval_steps(rows, out.with_suffix(""))
    also = f"; skipped {len(skipped)} that did not load ({', '.join(skipped)})" if skipped else ""
    console.print(
        f"wrote {out} ({len(rows)} rows) and {len(figures)} pictures in {out.with_suffix('')}{also}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return rows
