"""A run's line-per-row JSON logs (metrics.jsonl, selection.jsonl): the one reader and the one rewind.

Training appends a row at a time, so the last line may be half-written while a run is live or
after a crash; every reader here skips such a line instead of failing on it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

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


def is_real(x: Any) -> TypeGuard[int | float]:
    """Whether a value read from a log is a real number: an int or a float, not a bool (JSON's true
    is an int to Python), nor a string, a list or null."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_finite(x: Any) -> TypeGuard[int | float]:
    """Whether a value read from a log is a finite real number: one a table or a picture can show."""
    return is_real(x) and math.isfinite(x)


def _has_step(row: dict[str, Any]) -> bool:
    return is_real(row.get("step"))


MOST_ROWS = 20_000
"""Rows read_rows keeps at most: a longer log (a run logged every step for millions of steps) is
thinned evenly, its first and last rows kept, so a picture or a table of it reads in bounded memory."""
MAX_LINE = 1_000_000
"""Characters read of one line at most (a row is a few hundred): a longer line is skipped in
pieces, never held whole."""


def _lines(path: Path) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE characters (a longer one comes in pieces), read as
    they are used."""
    with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
        yield from iter(lambda: fh.readline(MAX_LINE), "")


def _objects(lines: Iterable[str], keep: Callable[[dict[str, Any]], bool]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(line, row) for every line that is a JSON object that `keep` accepts."""
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line being written right now, a crash's torn line, a piece of a huge one
        if isinstance(row, dict) and keep(row):
            yield line.rstrip("\n"), row


def thinned(rows: Iterable[dict[str, Any]], most: int | None) -> list[dict[str, Any]]:
    """All of `rows`, or where there are more than `most`, evenly spaced ones (every stride-th, the
    stride doubled whenever `most` is passed) and the last; in one pass, holding at most most + 1."""
    if most is None:
        return list(rows)
    kept: list[dict[str, Any]] = []
    stride, last, index = 1, None, -1
    for index, row in enumerate(rows):
        last = row
        if index % stride == 0:
            kept.append(row)
            if len(kept) > most:
                kept, stride = kept[::2], stride * 2
    if last is not None and index % stride != 0:
        kept.append(last)
    return kept


def read_objects(
    path: Path, keep: Callable[[dict[str, Any]], bool] = _has_step, most: int | None = None
) -> list[dict[str, Any]]:
    """The complete rows of a .jsonl file that `keep` accepts (default: those with a numeric
    `step`), oldest first, read line by line (`thinned` to `most` where given); [] when the file
    does not exist. A FIFO, a directory or a dangling link in its place is a GanError naming it,
    where it read as a run that had logged nothing."""
    problem = input_problem(path)
    if problem == MISSING:
        return []
    if problem is not None:
        raise GanError(f"cannot read {path}: {problem}")
    try:
        return thinned((row for _, row in _objects(_lines(path), keep)), most)
    except OSError as exc:
        raise GanError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a run's .jsonl log, oldest first, at most MOST_ROWS of them (thinned
    evenly, the last kept); [] when the file does not exist."""
    return read_objects(path, most=MOST_ROWS)


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
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:  # line by line: a log of any length in bounded memory
        for line, row in _objects(_lines(path), _has_step):
            if isinstance(row["step"], int) and row["step"] <= last_step:
                out.write(line + "\n")
    os.replace(tmp, path)
