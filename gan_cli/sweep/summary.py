"""Results across seeds: per grid point, each metric as mean +- its 95 % t-interval with n;
as a rich table on the console and as SWEEP_DIR/summary.md."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gan_cli import markdown_text, outputs, runlog
from gan_cli.sweep.intervals import Interval, mean_interval
from gan_cli.sweep.spec import SweepSpec, Trial, short_keys
from gan_cli.sweep.trial import FAILED, OK

WALL = "wall_s"  # the trial's wall time (s), summarised like a metric


@dataclass
class PointSummary:
    """One grid point: its values, its trials by status, and per metric the finite values of its
    finished trials (in seed order) with their interval."""

    grid: dict[str, Any]
    label: str
    trials: int = 0
    ok: int = 0
    failed: int = 0
    values: dict[str, list[float]] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)


def point_label(spec: SweepSpec, grid: dict[str, Any]) -> str:
    """'k=1, generator_loss=minimax' (the base config alone when the grid is empty)."""
    short = short_keys(list(spec.grid))
    return (
        ", ".join(f"{short[k]}={v if isinstance(v, str) else json.dumps(v)}" for k, v in grid.items()) or "base config"
    )


def metric_names(rows: list[dict[str, Any]], chosen: list[str] | None) -> list[str]:
    """The chosen metrics, or every metric a finished trial reported (in the order eval reports them)."""
    if chosen is not None:
        return list(chosen)
    names: list[str] = []
    for r in rows:
        if r.get("status") == OK:
            names += [n for n in r.get("metrics", {}) if n not in names]
    return names


def summarise(
    spec: SweepSpec, trials: list[Trial], rows: dict[str, dict[str, Any]], level: float = 0.95
) -> tuple[list[str], list[PointSummary]]:
    """(metric names, one PointSummary per grid point in grid order) from each trial's newest row."""
    names = metric_names([rows[t.trial_id] for t in trials if t.trial_id in rows], spec.metrics)
    wanted = [*names, WALL] + ([spec.metric] if spec.metric not in names else [])  # the figure's metric too
    points: dict[tuple[str, ...], PointSummary] = {}
    for t in trials:
        ps = points.setdefault(t.point, PointSummary(t.grid, point_label(spec, t.grid)))
        ps.trials += 1
        r = rows.get(t.trial_id)
        if r is None:
            continue
        if r.get("status") == FAILED:
            ps.failed += 1
        if r.get("status") != OK:
            continue
        ps.ok += 1
        for name in wanted:
            value = r.get("wall_s") if name == WALL else r.get("metrics", {}).get(name)
            if runlog.is_finite(value):
                ps.values.setdefault(name, []).append(float(value))
    for ps in points.values():
        ps.intervals = {name: mean_interval(ps.values.get(name, []), level) for name in wanted}
    return names, list(points.values())


def format_interval(iv: Interval) -> str:
    """'0.85 ± 0.12 (n=5)': the half-width to 2 significant digits and the mean to the same place."""
    if iv.mean is None:
        return "– (n=0)"
    if iv.half_width is None or not math.isfinite(iv.half_width):
        return f"{iv.mean:.4g} (n={iv.n})"
    if iv.half_width == 0:
        return f"{iv.mean:.4g} ± 0 (n={iv.n})"
    decimals = max(0, 1 - math.floor(math.log10(abs(iv.half_width))))
    return f"{iv.mean:.{decimals}f} ± {iv.half_width:.{decimals}f} (n={iv.n})"


def _cells(names: list[str], points: list[PointSummary]) -> list[list[str]]:
    rows = [[name] + [format_interval(p.intervals[name]) for p in points] for name in [*names, WALL]]
    rows[-1][0] = "wall time (s)"
    rows.append(["trials ok / failed / all"] + [f"{p.ok} / {p.failed} / {p.trials}" for p in points])
    return rows


def table(spec: SweepSpec, names: list[str], points: list[PointSummary]) -> Table:
    """The rich table: a row per metric, a column per grid point."""
    out = Table(title=f"sweep {spec.name}: mean ± 95 % t-interval over seeds (n finished trials)", title_justify="left")
    out.add_column("metric")
    for p in points:
        out.add_column(p.label, justify="right")
    for cells in _cells(names, points):
        out.add_row(*cells)
    return out


def print_table(console: Console, spec: SweepSpec, names: list[str], points: list[PointSummary]) -> None:
    console.print(table(spec, names, points))


def markdown(
    spec: SweepSpec, names: list[str], points: list[PointSummary], failures: list[dict[str, Any]], figure: str | None
) -> str:
    """summary.md: what ran, the table, the failed trials with their error lines, the figure."""
    grid = "; ".join(f"`{k}`: {json.dumps(v)}" for k, v in spec.grid.items()) or "none (seeds only)"
    fixed = "; ".join(f"`{k}={json.dumps(v)}`" for k, v in spec.fixed.items())
    lines = [
        f"# Sweep {spec.name}",
        "",
        f"Base config `{spec.base_raw.get('name', '?')}`; seeds {spec.seeds}; grid {grid}"
        + (f"; fixed {fixed}" if fixed else "")
        + f"; {spec.cpus:g} CPU(s) and {spec.gpus:g} GPU(s) per trial.",
        "",
        (
            "Each cell: the mean over seeds ± the half-width of its 95 % Student-t interval "
            "(t quantile with n - 1 degrees of freedom times s / sqrt(n)), n the trials that finished."
        ),
        "",
        "| " + " | ".join(["metric", *(markdown_text.plain(p.label) for p in points)]) + " |",
        "|" + "---|" * (len(points) + 1),
    ]
    lines += ["| " + " | ".join(c.replace("|", "&#124;") for c in cells) + " |" for cells in _cells(names, points)]
    if figure:
        lines += ["", f"![{spec.metric} against the grid]({figure})"]
    if failures:
        lines += ["", "## Failed trials", ""]
        lines += [
            f"- {markdown_text.code(r['trial'])}: {str(r.get('error') or '').splitlines()[0] if r.get('error') else 'no message'}"
            for r in failures
        ]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, text: str) -> None:
    """Write summary.md atomically: a link there is replaced, never written through."""
    outputs.write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "the sweep's file")
