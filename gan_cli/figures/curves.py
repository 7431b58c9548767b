"""`gan plot curves`: the training curves of a run directory as one PNG.

Panels against generator steps: V(G, D) with the -log 4 line (its value at the global optimum),
mean D(x) and D(G(z)) with the 1/2 line, the two losses, lr and momentum, and (when the run has
model selection) the validation Parzen signal (with train.ema, the raw G's beside the average's). Reads metrics.jsonl line by line and skips a line
cut short, so it works while training is still writing the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from gan_cli import outputs, runlog
from gan_cli.errors import GanError
from gan_cli.figures.files import literal, save_figure
from gan_cli.file_kinds import MISSING, input_problem
from gan_cli.objectives import LOG_4
from gan_cli.run_dir import RunDir


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if runlog.is_finite(r.get(key))]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curves(run_dir: str | Path, out: str | Path) -> Path:
    """Draw the curves of RUN_DIR/metrics.jsonl (and selection.jsonl if present) into `out` (PNG)."""
    run_dir, out = Path(run_dir), Path(out)
    metrics = RunDir(run_dir).metrics
    if input_problem(metrics) == MISSING:  # another kind of entry is named by read_rows
        raise GanError(f"{metrics} does not exist: is {run_dir} a gan-cli run directory that has logged a step?")
    if out.suffix.lower() != ".png":
        raise GanError(f"--out {out}: use a .png file")
    outputs.check_output(out, "--out")
    rows = runlog.read_rows(metrics)
    if not rows:
        raise GanError(f"{metrics} has no complete row yet: wait for the first log.every steps")
    selection = runlog.read_rows(RunDir(run_dir).selection)
    n_panels = 5 if selection else 4
    with plt.rc_context({"lines.marker": "." if len(rows) < 30 else ""}):  # a short run's few points stay visible
        fig = _draw(run_dir, rows, selection, n_panels)
    save_figure(fig, out, dpi=80)
    return out


def _draw(run_dir: Path, rows: list[dict[str, Any]], selection: list[dict[str, Any]], n_panels: int) -> Any:
    fig, axes = plt.subplots(n_panels, 1, figsize=(8, 2.3 * n_panels), sharex=True)

    ax = axes[0]
    ax.plot(*_series(rows, "value"), color="C0", label="V(G, D) on training batches")
    ax.axhline(-LOG_4, color="k", ls=":", lw=1, marker="", label="-log 4 (optimum)")
    ax.set_ylabel("V(G, D)")
    ax.legend(fontsize=8, loc="best")

    ax = axes[1]
    ax.plot(*_series(rows, "d_real"), color="C2", label="mean D(x)")
    ax.plot(*_series(rows, "d_fake"), color="C3", label="mean D(G(z))")
    ax.axhline(0.5, color="k", ls=":", lw=1, marker="", label="1/2")
    ax.set_ylim(0, 1)
    ax.set_ylabel("D")
    ax.legend(fontsize=8, loc="best")

    ax = axes[2]
    ax.plot(*_series(rows, "d_loss"), color="C0", label="D loss")
    ax.plot(*_series(rows, "g_loss"), color="C1", label="G loss")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8, loc="best")

    ax = axes[3]
    ax.plot(*_series(rows, "lr"), color="C4", label="learning rate (logged: D's)")
    ax.set_ylabel("lr")
    ax2 = ax.twinx()
    ax2.plot(*_series(rows, "momentum"), color="C5", ls="--", label="momentum")
    ax2.set_ylabel("momentum")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")

    if selection:
        ax = axes[4]
        raw = _series(selection, "valid_parzen_raw")  # train.ema: the signal is G's average's; the raw G's beside it
        ax.plot(
            *_series(selection, "valid_parzen"),
            color="C6",
            marker=".",
            label="validation Parzen (selection)" + (", G averaged" if raw[0] else ""),
        )
        if raw[0]:
            ax.plot(*raw, color="0.5", marker=".", lw=0.8, label="validation Parzen, raw G")
        best = [
            r
            for r in selection
            if r.get("best") and runlog.is_finite(r.get("valid_parzen")) and runlog.is_finite(r.get("step"))
        ]
        if best:
            top = max(best, key=lambda r: r["valid_parzen"])
            ax.plot([top["step"]], [top["valid_parzen"]], "r*", ms=12, label=f"best.pt (step {top['step']})")
        ax.set_ylabel("nats")
        ax.legend(fontsize=8, loc="best")

    axes[-1].set_xlabel("generator steps")
    last = rows[-1]
    epoch = f", epoch {last['epoch']:.2f}" if runlog.is_finite(last.get("epoch")) else ""
    fig.suptitle(f"{literal(run_dir.name)}: step {last['step']}{epoch}", fontsize=10)
    fig.tight_layout()
    return fig
