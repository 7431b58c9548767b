"""`gan compare`'s picture: several runs' curves overlaid, one colour per run.

Panels against generator steps: V(G, D) with the -log 4 line; mean D(x) (solid) and D(G(z))
(dashed) with the 1/2 line; the model-selection signal (validation Parzen, where a run has it); and
one panel per metric of `gan eval --all` (value ± s.e. per checkpoint, where a run has eval_all.jsonl).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from gan_cli.evaluate.report import HEADLINE
from gan_cli.figures.files import literal, save_figure
from gan_cli.objectives import LOG_4
from gan_cli.runlog import is_finite


@dataclass(frozen=True)
class RunCurves:
    """One run's rows: metrics.jsonl, selection.jsonl and eval_all.jsonl (oldest first)."""

    label: str
    rows: list[dict[str, Any]]
    selection: list[dict[str, Any]]
    eval_all: list[dict[str, Any]]


MAX_EVAL_PANELS = 6
"""At most this many eval metrics are drawn: `gan eval --all`'s headline ones first, then eval_all's order."""
TRAINING_CURVES = ("d_real", "d_fake")
"""eval.json metrics the training panels already show (mean D on held-out data): drawn only when
there is room after the others."""


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if is_finite(r.get(key))]
    return [p[0] for p in pts], [p[1] for p in pts]


def _eval_names(runs: list[RunCurves]) -> list[str]:
    names: list[str] = []
    for run in runs:
        for row in run.eval_all:
            metrics = row.get("metrics")
            if isinstance(metrics, dict):
                names += [
                    n
                    for n, m in metrics.items()
                    if n not in names and isinstance(m, dict) and is_finite(m.get("value"))
                ]
    first = [n for n in HEADLINE if n in names]  # the metrics `gan eval --all` shows first, in its order
    rest = [n for n in names if n not in first and n not in TRAINING_CURVES]
    return (first + rest + [n for n in TRAINING_CURVES if n in names])[:MAX_EVAL_PANELS]


def _step_range(runs: list[RunCurves]) -> tuple[float, float]:
    """The steps every panel spans: the longest run's, so a run's few evaluations line up with its curves."""
    steps = [r["step"] for run in runs for r in (*run.rows, *run.eval_all, *run.selection) if is_finite(r.get("step"))]
    lo, hi = min(steps), max(steps)
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def plot_compare(runs: list[RunCurves], out: Path) -> Path:
    """Draw the runs' curves into `out` (PNG, written atomically)."""
    with_selection = any(r.selection for r in runs)
    eval_names = _eval_names(runs)
    panels = 2 + with_selection + len(eval_names)
    cols = 1 if panels <= 3 else 2
    nrows = math.ceil(panels / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(7 * cols, 2.8 * nrows), squeeze=False)
    flat = list(axes.flat)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    short = len(max((r.rows for r in runs), key=len)) < 30  # a short run's few points stay visible

    ax = flat[0]
    for run, c in zip(runs, colours, strict=True):
        ax.plot(*_series(run.rows, "value"), color=c, marker="." if short else "", label=literal(run.label))
    ax.axhline(-LOG_4, color="k", ls=":", lw=1, label="-log 4 (optimum)")
    ax.set_title("V(G, D) on training batches", fontsize=9)
    ax.legend(fontsize=8, loc="best")

    ax = flat[1]
    for run, c in zip(runs, colours, strict=True):
        ax.plot(*_series(run.rows, "d_real"), color=c, marker="." if short else "", label=f"{literal(run.label)}: D(x)")
        ax.plot(
            *_series(run.rows, "d_fake"),
            color=c,
            ls="--",
            marker="." if short else "",
            label=f"{literal(run.label)}: D(G(z))",
        )
    ax.axhline(0.5, color="k", ls=":", lw=1)
    ax.set_ylim(0, 1)
    ax.set_title("mean D(x) (solid) and D(G(z)) (dashed)", fontsize=9)
    ax.legend(fontsize=7, loc="best")

    i = 2
    if with_selection:
        ax = flat[i]
        for run, c in zip(runs, colours, strict=True):
            if run.selection:
                ax.plot(*_series(run.selection, "valid_parzen"), color=c, marker=".", label=literal(run.label))
        ax.set_title("model selection: validation Parzen (nats)", fontsize=9)
        ax.legend(fontsize=8, loc="best")
        i += 1
    for name in eval_names:
        ax = flat[i]
        for run, c in zip(runs, colours, strict=True):
            pts = [
                (r["step"], r["metrics"][name])
                for r in run.eval_all
                if isinstance(r.get("metrics"), dict)
                and isinstance(r["metrics"].get(name), dict)
                and is_finite(r["metrics"][name].get("value"))
                and is_finite(r.get("step"))
            ]
            if pts:
                errs = [m["stderr"] if is_finite(m.get("stderr")) else 0.0 for _, m in pts]
                ax.errorbar(
                    [s for s, _ in pts],
                    [m["value"] for _, m in pts],
                    yerr=errs,
                    color=c,
                    marker="o",
                    ms=4,
                    capsize=3,
                    label=literal(run.label),
                )
        ax.set_title(f"gan eval --all: {name}", fontsize=9)
        ax.legend(fontsize=8, loc="best")
        i += 1
    for ax in flat[i:]:
        ax.set_visible(False)
    xlim = _step_range(runs)
    for ax in flat[:i]:
        ax.set_xlim(*xlim)
        ax.grid(alpha=0.3)
        ax.set_xlabel("generator steps", fontsize=8)
    without = [literal(r.label) for r in runs if not r.eval_all]
    note = f" (no gan eval --all for {', '.join(without)})" if eval_names and without else ""
    fig.suptitle("gan compare: " + ", ".join(literal(r.label) for r in runs) + note, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, dpi=80)
