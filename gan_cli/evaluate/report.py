"""The result of `gan eval`: metric records, the rich table, and eval.json (schema in docs/evaluation.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gan_cli import outputs, runlog


def metric(
    value: float, stderr: float | None, n: int | list[int], estimator: str, label: str, **extra: Any
) -> dict[str, Any]:
    """One eval.json metric: value, stderr (null when there is none), n, estimator (in full),
    label (a few words for the table), then details."""
    return {"value": value, "stderr": stderr, "n": n, "estimator": estimator, "label": label, **extra}


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write eval.json atomically (temp file in the same directory, then os.replace)."""
    text = json.dumps(runlog.json_safe(result), indent=2, allow_nan=False) + "\n"
    outputs.write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "--json")


def format_value(x: Any) -> str:
    """A metric value for a table: 4 decimals, 2 from 100 on, scientific below 0.001; - for none."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "inf" if isinstance(x, float) and x == math.inf else "-"
    if isinstance(x, int):
        return f"{x:,}"
    a = abs(x)
    return f"{x:.2f}" if a >= 100 else f"{x:.4f}" if a >= 1e-3 or a == 0 else f"{x:.2e}"


def _bound(x: float) -> str:
    """An interval end: 0 and 1 as such, 4 decimals, 2 significant digits below 0.001."""
    return "0" if x == 0 else "1" if x == 1 else f"{x:.4f}" if abs(x) >= 1e-3 else f"{x:.2g}"


def shown(m: dict[str, Any]) -> str:
    """A value with its s.e. ("0.8550 ± 0.0035"); a proportion whose s.e. is 0 (recall 0.0, say: the
    binomial s.e. vanishes at 0 and 1) with its Wilson interval instead ("0.0000 [0, 0.0001]" for 0
    of 10,000: z = 1, a one-s.e. band like the ± of the other values)."""
    text, stderr = format_value(m["value"]), m.get("stderr")
    if stderr == 0 and m.get("interval"):
        lo, hi = m["interval"]
        return f"{text} [{_bound(lo)}, {_bound(hi)}]"
    return text + (f" ± {format_value(stderr)}" if stderr is not None else "")


def _n(n: Any) -> str:
    if isinstance(n, list):
        return " / ".join(f"{v:,}" for v in n)
    return f"{n:,}"


def table(result: dict[str, Any]) -> Table:
    """The metrics as a rich table: name, value +- s.e., n, estimator."""
    t = Table(
        title=f"gan eval: {result['checkpoint']} (step {result['step']:,}, split {result['split']}, seed {result['seed']}, G {result.get('weights', 'raw')})",
        title_justify="left",
    )
    t.add_column("metric", no_wrap=True)
    t.add_column("value ± s.e.", justify="right", no_wrap=True)
    calibrated = any("calibration" in m for m in result["metrics"].values())
    if calibrated:
        t.add_column("real vs real", justify="right", no_wrap=True)
    t.add_column("n", justify="right")
    t.add_column("what (estimator in eval.json)")
    for name, m in result["metrics"].items():
        row = [name, shown(m)]
        if calibrated:  # the same metric between two real splits
            cal = m.get("calibration")
            row.append(shown(cal) if cal else "")
        t.add_row(*row, _n(m["n"]), m.get("label") or m["estimator"])
    return t


def print_report(result: dict[str, Any], console: Console) -> None:
    """The table and its notes (calibration pairs, caveats)."""
    console.print(table(result))
    pairs = {m["calibration"]["pair"] for m in result["metrics"].values() if m.get("calibration")}
    if pairs:
        console.print(
            f"real vs real: the same metric for {' / '.join(sorted(pairs))} in place of the samples (what data scores)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for name, m in result["metrics"].items():
        if m.get("caveat"):
            console.print(f"note ({name}): {m['caveat']}", markup=False, highlight=False, soft_wrap=True)


HEADLINE = (
    "fid",
    "kid",
    "precision",
    "recall",
    "coverage",
    "classes_covered",
    "parzen_ll",
    "jsd_exact",
    "modes_captured",
    "jsd_critic",
    "value",
)
"""The metrics `gan eval --all` shows, in this order, where a result has them."""


def headline(result: dict[str, Any], count: int = 5) -> list[str]:
    return [name for name in HEADLINE if name in result["metrics"]][:count]


def steps_table(rows: list[dict[str, Any]]) -> Table:
    """`gan eval --all`: one row per checkpoint, the headline metrics as columns."""
    names = headline(rows[-1], 6)
    last = rows[-1]
    t = Table(
        title=f"gan eval --all: {len(rows)} checkpoints (split {last['split']}, n {last['num_samples']:,}, seed {last['seed']})",
        title_justify="left",
    )
    t.add_column("step", justify="right")
    for name in names:
        t.add_column(name, justify="right")
    for r in rows:
        t.add_row(
            f"{r['step']:,}", *(format_value(r["metrics"][n]["value"]) if n in r["metrics"] else "-" for n in names)
        )
    return t
