"""Files a command writes for the user (samples, eval.json, pictures): never over a run's own files,
always a new file moved into place.

A run directory's checkpoints, config.yaml, metrics.jsonl, selection.jsonl and command.txt are what
`--resume`, `gan eval` and `gan sample` read back; periodic step_N.pt files are hard links to
last.pt, so writing *through* one of them would destroy both. Every output therefore goes to a
temporary file in the target's directory and is moved over the target with os.replace, which
replaces the directory entry and never writes into an existing file or link.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gan_cli.errors import GanError
from gan_cli.run_dir import TRAINING_ONLY_FILES, RunDir


def _is_run_dir(directory: Path) -> bool:
    run = RunDir(directory)
    return run.checkpoints.is_dir() or run.config.is_file() and run.metrics.exists()


def protected_reason(path: Path) -> str | None:
    """Why `path` must not be written by an output command, or None when it may be."""
    target = Path(path).expanduser()
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        resolved = target.absolute()
    parent = resolved.parent
    if parent.name == RunDir(parent.parent).checkpoints.name and (
        resolved.suffix == ".pt" or _is_run_dir(parent.parent)
    ):
        return f"it is in the checkpoints folder of the run {parent.parent}"
    if resolved.name in TRAINING_ONLY_FILES and _is_run_dir(parent):
        return f"it is the run's own {resolved.name} (in {parent})"
    return None


def check_output(path: Path, option: str) -> Path:
    """`path` if an output command may write it; else a GanError naming the option and the reason."""
    reason = protected_reason(path)
    if reason is not None:
        raise GanError(f"{option} {path}: refusing to write there: {reason}; choose a new file name")
    if Path(path).is_dir():
        raise GanError(f"{option} {path}: is a directory; give a file name")
    return Path(path)


def check_writable(directory: Path, option: str) -> None:
    """A GanError naming `option` when files cannot be created in `directory` (read-only, not ours)."""
    if not os.access(directory, os.W_OK | os.X_OK):
        raise GanError(f"{option}: cannot write in {directory} (permission denied or read-only); choose another place")


def write_atomic(path: Path, write: Callable[[Path], object], option: str) -> Path:
    """Call `write(tmp)` on a new temporary file beside `path`, then move it over `path`.

    `tmp` keeps `path`'s suffix, so writers that pick a format by suffix (PIL, matplotlib, numpy)
    still do. Nothing is left behind on failure and the previous file at `path` stays as it was.
    """
    path = check_output(Path(path), option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise GanError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise GanError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
