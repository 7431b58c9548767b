"""The result of `gan eval`: metric records, the rich table, and eval.json (schema in docs/evaluation.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gan_cli import outputs


def metric(value: float, stderr: float | None, n: int | list[int], estimator: str, label: str, **extra: Any) -> dict[str, Any]:
    """One eval.json metric: value, stderr (null when there is none), n, estimator (in full),
    label (a few words for the table), then details."""
    return {"value": value, "stderr": stderr, "n": n, "estimator": estimator, "label": label, **extra}


def _plain(obj: Any) -> Any:
    """JSON-safe: tuples to lists, non-finite floats to null (strict JSON has no inf or nan)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return _plain(obj.item())
    return obj


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write eval.json atomically (temp file in the same directory, then os.replace)."""
    text = json.dumps(_plain(result), indent=2, allow_nan=False) + "\n"
    outputs.write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "--json")


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "inf" if isinstance(x, float) and x == math.inf else "-"
    if isinstance(x, int):
        return f"{x:,}"
    a = abs(x)
    return f"{x:.2f}" if a >= 100 else f"{x:.4f}" if a >= 1e-3 or a == 0 else f"{x:.2e}"


def _n(n: Any) -> str:
    if isinstance(n, list):
        return " / ".join(f"{v:,}" for v in n)
    return f"{n:,}"


def table(result: dict[str, Any]) -> Table:
    """The metrics as a rich table: name, value +- s.e., n, estimator."""
    t = Table(title=f"gan eval: {result['checkpoint']} (step {result['step']:,}, split {result['split']}, seed {result['seed']}, G {result.get('weights', 'raw')})", title_justify="left")
    t.add_column("metric", no_wrap=True)
    t.add_column("value ± s.e.", justify="right", no_wrap=True)
    t.add_column("n", justify="right")
    t.add_column("what (estimator in eval.json)")
    for name, m in result["metrics"].items():
        shown = _fmt(m["value"]) + (f" ± {_fmt(m['stderr'])}" if m.get("stderr") is not None else "")
        t.add_row(name, shown, _n(m["n"]), m.get("label") or m["estimator"])
    return t


def print_report(result: dict[str, Any], console: Console, json_path: Path) -> None:
    console.print(table(result))
    for name, m in result["metrics"].items():
        if m.get("caveat"):
            console.print(f"note ({name}): {m['caveat']}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {json_path}", markup=False, highlight=False, soft_wrap=True)
