"""The end of a sweep: the table across seeds on the console, summary.md, and the figure of the
chosen metric per grid point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from gan_cli.figures.sweep import SweepPoint, plot_sweep
from gan_cli.sweep import results, summary
from gan_cli.sweep.spec import SweepSpec
from gan_cli.sweep.trial import FAILED

SUMMARY_FILE = "summary.md"


def figure_name(spec: SweepSpec) -> str:
    """The file of the chosen metric's figure in the sweep directory."""
    return f"summary_{spec.metric}.png"


def report_files(spec: SweepSpec) -> tuple[str, ...]:
    """The files write_report writes in the sweep directory."""
    return SUMMARY_FILE, figure_name(spec)


def write_report(spec: SweepSpec, sweep_dir: Path, console: Console) -> tuple[list[dict[str, Any]], Path | None]:
    """Print the table; write summary.md and the figure; return (failed rows, figure path)."""
    trials = spec.trials()
    rows = results.latest(results.read(sweep_dir / results.RESULTS))
    names, points = summary.summarise(spec, trials, rows)
    failures = [rows[t.trial_id] for t in trials if rows.get(t.trial_id, {}).get("status") == FAILED]
    figure = None
    if any(p.values.get(spec.metric) for p in points):
        figure = sweep_dir / figure_name(spec)
        plot_sweep(
            [
                SweepPoint(
                    p.label,
                    p.values.get(spec.metric, []),
                    p.intervals[spec.metric].mean,
                    p.intervals[spec.metric].half_width,
                )
                for p in points
            ],
            spec.metric,
            f"sweep {spec.name}: {spec.metric} over {len(spec.seeds)} seeds",
            figure,
            "grid point (" + ", ".join(spec.grid) + ")" if spec.grid else "",
        )
    elif any(p.ok for p in points):
        reported = ", ".join(summary.metric_names(list(rows.values()), None))
        console.print(
            f"note: no finished trial reported the metric {spec.metric!r} (they report: {reported}); no figure drawn",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    summary.print_table(console, spec, names, points)
    summary.write_markdown(
        sweep_dir / SUMMARY_FILE, summary.markdown(spec, names, points, failures, figure.name if figure else None)
    )
    return failures, figure
