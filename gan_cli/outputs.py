"""Files a command writes for the user (samples, eval.json, pictures): never over a run's own files,
always a new file moved into place.

A run directory's checkpoints, config.yaml, metrics.jsonl, selection.jsonl and command.txt are what
`--resume`, `gan eval` and `gan sample` read back; periodic step_N.pt files are hard links to
last.pt, so writing *through* one of them would destroy both. Every output therefore goes to a
temporary file in the target's directory and is moved over the target with os.replace, which
replaces the directory entry and never writes into an existing file or link.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from gan_cli.devices import human_bytes
from gan_cli.errors import GanError
from gan_cli.file_kinds import special_reason
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


def check_regular(path: Path, what: str) -> None:
    """GanError naming `what` when `path` is there and not a regular file of ours."""
    reason = special_reason(path)
    if reason is not None:
        raise GanError(f"{what} {path}: refusing to replace it: {reason}; only regular files are written")


def check_target(path: Path, option: str) -> Path:
    """`path` if an output may replace what stands there (nothing, or a regular file not of a run's
    own); else a GanError naming the option and the reason."""
    reason = protected_reason(path)
    if reason is not None:
        raise GanError(f"{option} {path}: refusing to write there: {reason}; choose a new file name")
    if Path(path).is_dir():
        raise GanError(f"{option} {path}: is a directory; give a file name")
    check_regular(Path(path), option)
    return Path(path)


def check_output(path: Path, option: str) -> Path:
    """`path` if an output command may write it, checked before the work: `check_target`, and a
    file can be created in its folder (`check_writable`)."""
    check_target(path, option)
    check_writable(Path(path).parent, f"{option} {path}")
    return Path(path)


def new_file_mode() -> int:
    """The mode a new file gets under this process's umask (0644 under the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_beside(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """(fd, path) of a new temporary file in `path`'s directory, with the umask's mode (mkstemp makes
    0600), to be moved over `path` once complete."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode())
    except OSError:
        pass  # a file system without modes
    return fd, Path(name)


def check_writable(directory: Path, option: str) -> None:
    """A GanError naming `option` when a file cannot be created in `directory`, or in its nearest
    existing folder where it is still to be made: found by creating one and removing it, since the
    permission bits tell nothing to root (who runs CI and containers) of a read-only mount, /proc or
    /sys, a full quota or an immutable folder, where the command would fail only at its end."""
    folder = Path(directory).expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise GanError(f"{option}: cannot write in {directory}: {folder} is not a folder; choose another place")
    try:
        fd, probe = tempfile.mkstemp(prefix=".gan-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise GanError(
            f"{option}: cannot create a file in {folder} ({exc.strerror or exc}); choose another place"
        ) from None


def free_bytes(path: Path) -> int | None:
    """Bytes free on the disk that will hold `path` (its nearest existing folder's), or None where
    that cannot be told."""
    folder = Path(path).expanduser().absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


UNSYNCABLE_DIRECTORY = frozenset(
    getattr(errno, name)
    for name in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "EBADF", "EISDIR", "EACCES", "EPERM")
    if hasattr(errno, name)
)
"""What opening or fsyncing a directory raises where the file system cannot do it (some network and
FUSE file systems, a folder without read permission): not a failed write."""


def sync_directory(folder: Path) -> None:
    """fsync `folder`, so a file renamed into it survives a power cut. Where that cannot be done
    (Windows opens no directory with os.open; some network and FUSE file systems refuse fsync on
    one) the renamed file stands without it, as it already does in the folder: durability is then
    the file system's. Training once stopped at its first checkpoint there, with the checkpoint
    already in place. A real failure (EIO, ENOSPC) is still raised."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in UNSYNCABLE_DIRECTORY:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in UNSYNCABLE_DIRECTORY:
            raise
    finally:
        os.close(fd)


def file_size_limit() -> int | None:
    """This process's largest file in bytes (RLIMIT_FSIZE, `ulimit -f`), or None when unlimited
    (or not POSIX): a larger write fails with EFBIG."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_free_space(
    path: Path, nbytes: int, option: str, advice: str = "write fewer samples or choose another disk"
) -> None:
    """GanError naming `option` when the disk that will hold `path` has less than `nbytes` free:
    checked before the work, where a full disk would otherwise end it at the last write."""
    free = free_bytes(path)
    if free is None:
        return
    if nbytes > free:
        raise GanError(
            f"{option} {path}: needs about {human_bytes(nbytes)} and its disk has {human_bytes(free)} free; {advice}"
        )


def write_atomic(path: Path, write: Callable[[Path], object], option: str) -> Path:
    """Call `write(tmp)` on a new temporary file beside `path`, then move it over `path`.

    `tmp` keeps `path`'s suffix, so writers that pick a format by suffix (PIL, matplotlib, numpy)
    still do. Nothing is left behind on failure and the previous file at `path` stays as it was.
    """
    path = check_target(Path(path), option)  # no probe of the folder: the temporary file below is one
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path, f".tmp{path.suffix}")
        os.close(fd)
    except OSError as exc:
        raise GanError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise GanError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_run_files(run: RunDir) -> None:
    """GanError when one of the files a run writes is there as something other than a regular file
    (a FIFO would block the writer, a link would be written through)."""
    for path in (run.config, run.command_log, run.metrics, run.selection, run.last, run.best):
        check_regular(path, "the run's file")
