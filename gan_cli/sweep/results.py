"""SWEEP_DIR/results.jsonl: one JSON row per trial, appended and flushed as each trial ends.

On --resume the file is rewritten (atomically) with the finished rows only, so that each trial
has one row once the sweep is done; a reader skips a line cut short by a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gan_cli import runlog
from gan_cli.errors import GanError

RESULTS = "results.jsonl"


def append(path: Path, row: dict[str, Any]) -> None:
    """Add one row and flush it, so a crash of the driver keeps every finished trial."""
    runlog.append(path, row)


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete row (a dict with a 'trial' id), oldest first; [] when there is no file."""
    return runlog.read_objects(path, lambda row: isinstance(row.get("trial"), str))


def latest(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """trial id -> its newest row."""
    return {row["trial"]: row for row in rows}


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace the file with `rows`, atomically (temp file in the same folder, then os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text("".join(json.dumps(runlog.json_safe(r), allow_nan=False) + "\n" for r in rows), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise GanError(f"cannot write {path}: {exc.strerror or exc}") from None
