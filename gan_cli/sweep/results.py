"""SWEEP_DIR/results.jsonl: one JSON row per trial, appended and flushed as each trial ends.

On --resume the file is rewritten (atomically) with the finished rows only, so that each trial
has one row once the sweep is done; a reader skips a line cut short by a crash.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError

RESULTS = "results.jsonl"


def _plain(obj: Any) -> Any:
    """JSON-safe: non-finite floats become null (strict JSON has no nan or inf)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def append(path: Path, row: dict[str, Any]) -> None:
    """Add one row and flush it, so a crash of the driver keeps every finished trial."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_plain(row), allow_nan=False) + "\n")
            fh.flush()
    except OSError as exc:
        raise GanError(f"cannot write {path}: {exc.strerror or exc}") from None


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete row (a dict with a 'trial' id), oldest first; [] when there is no file."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GanError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if isinstance(row, dict) and isinstance(row.get("trial"), str):
            rows.append(row)
    return rows


def latest(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """trial id -> its newest row."""
    return {row["trial"]: row for row in rows}


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the file with `rows`, atomically (temp file in the same folder, then os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text("".join(json.dumps(_plain(r), allow_nan=False) + "\n" for r in rows), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise GanError(f"cannot write {path}: {exc.strerror or exc}") from None
