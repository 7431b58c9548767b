"""`gan eval --all RUN_DIR`: every checkpoint of a run evaluated alike (same split, n and seed), so a
user sees when the model was best.

Writes RUN_DIR/eval_all.jsonl (or --json FILE), one eval.json object per checkpoint in step order,
flushed as each finishes, and RUN_DIR/eval_all/METRIC.png (beside FILE: FILE without its suffix)
with each metric against the training step, its s.e. as error bars and, where it has one, its
real-vs-real calibration as a dashed line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gan_cli import checkpoint, outputs
from gan_cli.errors import GanError
from gan_cli.evaluate.command import EvalOptions, evaluate, load_for_eval
from gan_cli.evaluate.report import _fmt
from gan_cli.runlog import json_safe

HEADLINE = ("fid", "kid", "precision", "recall", "coverage", "classes_covered", "parzen_ll", "jsd_exact", "modes_captured", "jsd_critic", "value")


def checkpoints_of(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, file) of every periodic checkpoint of the run, and last.pt when it is newer; oldest first."""
    if not run_dir.is_dir():
        raise GanError(f"--all {run_dir}: not a directory; give a run directory (it holds checkpoints/)")
    found = checkpoint.list_steps(run_dir)
    last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
    if last.is_file():
        step = int(checkpoint.load(last)["step"])
        if not found or step > found[-1][0]:
            found.append((step, last))
    if not found:
        raise GanError(f"--all {run_dir}: no checkpoints in {checkpoint.checkpoint_dir(run_dir)}: is it a run directory of a run that saved one?")
    return found


def _headline(result: dict[str, Any], count: int = 5) -> list[str]:
    return [name for name in HEADLINE if name in result["metrics"]][:count]


def evaluate_all_command(run_dir: str | Path, options: EvalOptions = EvalOptions(), console: Console | None = None) -> list[dict[str, Any]]:
    """Evaluate each checkpoint, write the rows and the pictures, print a table; returns the rows."""
    from gan_cli.figures.eval_steps import plot_eval_steps

    split, num_samples, seed, json_path, device_name = options.split, options.num_samples, options.seed, options.json_path, options.device_name
    console = console or Console(highlight=False)
    run_dir = Path(run_dir).expanduser()
    found = checkpoints_of(run_dir)
    if seed is not None and seed < 0:
        raise GanError(f"--seed {seed}: must be >= 0")
    out = json_path or run_dir / "eval_all.jsonl"
    outputs.check_output(out, "--json")
    rows: list[dict[str, Any]] = []
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)  # a new file: an old one may be a hard link, never written through
        fh = out.open("x", encoding="utf-8")
    except OSError as exc:
        raise GanError(f"--json {out}: cannot write: {exc.strerror or exc}") from None
    with fh:
        for i, (step, path) in enumerate(found, 1):
            loaded = load_for_eval(path, device_name, options.weights)
            ev = loaded.cfg.eval
            result = evaluate(loaded, split or ev.split, num_samples if num_samples is not None else ev.generated_samples, ev.seed if seed is None else seed)
            fh.write(json.dumps(json_safe(result), allow_nan=False) + "\n")
            fh.flush()
            rows.append(result)
            shown = ", ".join(f"{name} {_fmt(result['metrics'][name]['value'])}" for name in _headline(result))
            console.print(f"[{i}/{len(found)}] step {step:,} ({path.name}): {shown}", markup=False, highlight=False, soft_wrap=True)
    figures = plot_eval_steps(rows, out.with_suffix(""))
    console.print(_table(rows))
    console.print(f"wrote {out} ({len(rows)} rows) and {len(figures)} pictures in {out.with_suffix('')}", markup=False, highlight=False, soft_wrap=True)
    return rows


def _table(rows: list[dict[str, Any]]) -> Table:
    names = _headline(rows[-1], 6)
    t = Table(title=f"gan eval --all: {len(rows)} checkpoints (split {rows[-1]['split']}, n {rows[-1]['num_samples']:,}, seed {rows[-1]['seed']})", title_justify="left")
    t.add_column("step", justify="right")
    for name in names:
        t.add_column(name, justify="right")
    for r in rows:
        t.add_row(f"{r['step']:,}", *(_fmt(r["metrics"][n]["value"]) if n in r["metrics"] else "-" for n in names))
    return t
