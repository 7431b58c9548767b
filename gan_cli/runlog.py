"""A run's line-per-row JSON logs (metrics.jsonl, selection.jsonl): the one reader and the one rewind.

Training appends a row at a time, so the last line may be half-written while a run is live or
after a crash; every reader here skips such a line instead of failing on it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError


def _rows(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(line, row) for every line that is a JSON object with a numeric `step`."""
    out = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line training is writing right now, or a crash's torn line
        if isinstance(row, dict) and isinstance(row.get("step"), (int, float)) and not isinstance(row.get("step"), bool):
            out.append((line, row))
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a .jsonl log, oldest first; [] when the file does not exist."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GanError(f"cannot read {path}: {exc.strerror or exc}") from None
    return [row for _, row in _rows(text)]


def rewind(path: Path, last_step: int) -> None:
    """Keep the rows with step <= `last_step` (and drop a line cut short), atomically.

    Run on resume and on a NaN rollback, so that no step appears twice in the log.
    """
    if not path.is_file():
        return
    kept = [line for line, row in _rows(path.read_text(encoding="utf-8", errors="replace")) if isinstance(row["step"], int) and row["step"] <= last_step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    os.replace(tmp, path)
