"""A run's line-per-row JSON logs (metrics.jsonl, selection.jsonl): the one reader and the one rewind.

Training appends a row at a time, so the last line may be half-written while a run is live or
after a crash; every reader here skips such a line instead of failing on it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError
from gan_cli.file_kinds import MISSING, input_problem


def json_safe(obj: Any) -> Any:
    """JSON-safe: tuples to lists, numpy/torch scalars to numbers, non-finite floats to null
    (strict JSON has no inf or nan)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and callable(obj.item):
        return json_safe(obj.item())
    return obj


def _has_step(row: dict[str, Any]) -> bool:
    return isinstance(row.get("step"), (int, float)) and not isinstance(row.get("step"), bool)


def _objects(text: str, keep: Callable[[dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
    """(line, row) for every line that is a JSON object that `keep` accepts."""
    out = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line being written right now, or a crash's torn line
        if isinstance(row, dict) and keep(row):
            out.append((line, row))
    return out


def _rows(text: str) -> list[tuple[str, dict[str, Any]]]:
    return _objects(text, _has_step)


def read_objects(path: Path, keep: Callable[[dict[str, Any]], bool] = _has_step) -> list[dict[str, Any]]:
    """The complete rows of a .jsonl file that `keep` accepts (default: those with a numeric
    `step`), oldest first; [] when the file does not exist. A FIFO, a directory or a dangling link
    in its place is a GanError naming it, where it read as a run that had logged nothing."""
    problem = input_problem(path)
    if problem == MISSING:
        return []
    if problem is not None:
        raise GanError(f"cannot read {path}: {problem}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GanError(f"cannot read {path}: {exc.strerror or exc}") from None
    return [row for _, row in _objects(text, keep)]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a run's .jsonl log, oldest first; [] when the file does not exist."""
    return read_objects(path)


def append(path: Path, row: dict[str, Any]) -> None:
    """Add one row (strict JSON) and flush it, so a crash keeps every row written before it."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(json_safe(row), allow_nan=False) + "\n")
            fh.flush()
    except OSError as exc:
        raise GanError(f"cannot write {path}: {exc.strerror or exc}") from None


def rewind(path: Path, last_step: int) -> None:
    """Keep the rows with step <= `last_step` (and drop a line cut short), atomically.

    Run on resume and on a NaN rollback, so that no step appears twice in the log.
    """
    if not path.is_file():
        return
    kept = [
        line
        for line, row in _rows(path.read_text(encoding="utf-8", errors="replace"))
        if isinstance(row["step"], int) and row["step"] <= last_step
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    os.replace(tmp, path)
