"""The run directory: the one module that knows its shape (../docs/design.md, "Run directory").

```
RUN_DIR/config.yaml                 resolved config, exactly what ran
RUN_DIR/command.txt                 each command that wrote the run, with versions and device
RUN_DIR/metrics.jsonl               one row per log step        RUN_DIR/selection.jsonl   model selection
RUN_DIR/samples/step_NNNNNNN.png    pictures from fixed noise   RUN_DIR/samples/real.png  training data
RUN_DIR/checkpoints/last.pt, best.pt, step_NNNNNNN.pt
RUN_DIR/eval.json, eval_all.jsonl, eval_all/   written by `gan eval` (--all)
RUN_DIR/tb/                         TensorBoard events (log.tensorboard)
RUN_DIR/.lock-train, .lock-outputs  the writers' locks (below)
```

One writer at a time: `gan train` (new or resumed) holds the *train* lock for its whole life, and
the commands that write their results into a run (`gan eval`, `gan eval --all`, `gan sample`'s
default picture) hold the *outputs* lock while they write. The locks are `flock`s, released by the
kernel when their process ends, so a crash never leaves a stale one; readers take none, so a
checkpoint can be sampled or evaluated while its run trains.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gan_cli.errors import GanError
from gan_cli.file_kinds import DANGLING, DIRECTORY, MISSING, input_problem

STEP_FILE = re.compile(r"^step_(\d{7,})\.pt$")
TEMP_SUFFIX = ".tmp"  # atomic writes' temp files: .NAME.XXXX.tmp, never matched as checkpoints
LOCKS = {"train": ".lock-train", "outputs": ".lock-outputs"}

TRAINING_FILES = frozenset(
    {"config.yaml", "command.txt", "metrics.jsonl", "selection.jsonl", "samples", "checkpoints", "tb", *LOCKS.values()}
)
"""What `gan train` puts in a run directory; only these and no checkpoint is a run that failed to start."""

TRAINING_ONLY_FILES = ("config.yaml", "metrics.jsonl", "selection.jsonl", "command.txt")
"""Files that only training writes: no output command may replace them."""


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is created until asked)."""

    path: Path

    # ------------------------------------------------------------ files

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def command_log(self) -> Path:
        return self.path / "command.txt"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def selection(self) -> Path:
        return self.path / "selection.jsonl"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tb"

    @property
    def last(self) -> Path:
        """checkpoints/last.pt: the newest checkpoint, what --resume continues from."""
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        """checkpoints/best.pt: the model selection's pick."""
        return self.checkpoints / "best.pt"

    @property
    def eval_json(self) -> Path:
        return self.path / "eval.json"

    @property
    def eval_all(self) -> Path:
        return self.path / "eval_all.jsonl"

    @property
    def real_picture(self) -> Path:
        return self.samples / "real.png"

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:07d}.pt"

    def step_picture(self, step: int) -> Path:
        return self.samples / f"step_{step:07d}.png"

    def sample_picture(self, step: int, seed: int, kind: str = "sample", weights: str = "") -> Path:
        """The default output of `gan sample` (kind sample, nearest or interpolate)."""
        if kind == "sample":
            return self.samples / f"sample_step{step:07d}_seed{seed}{f'_{weights}' if weights else ''}.png"
        return self.samples / f"{kind}_step{step:07d}_seed{seed}.png"

    # ------------------------------------------------------------ state

    def is_nonempty(self) -> bool:
        """Whether the directory holds anything but its locks."""
        return self.path.is_dir() and any(p.name not in LOCKS.values() for p in self.path.iterdir())

    def has_checkpoint(self) -> bool:
        return self.last.is_file()

    def failed_start(self) -> bool:
        """Only a run's own files and no checkpoint: a run that stopped before its first."""
        entries = {p.name for p in self.path.iterdir()}
        no_checkpoint = not self.checkpoints.exists() or not any(self.checkpoints.glob("*.pt"))
        return self.config.name in entries and entries <= TRAINING_FILES and no_checkpoint

    def clear_failed_start(self) -> None:
        """Empty a run that stopped before its first checkpoint (command.txt keeps its history)."""
        for f in (self.metrics, self.selection, self.config):
            f.unlink(missing_ok=True)
        for d in (self.samples, self.tensorboard):
            shutil.rmtree(d, ignore_errors=True)

    def step_checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the periodic checkpoints, oldest first."""
        if not self.checkpoints.is_dir():
            return []
        found = ((STEP_FILE.match(f.name), f) for f in self.checkpoints.iterdir())
        return sorted((int(m.group(1)), f) for m, f in found if m)

    def prune(self, keep: int) -> None:
        """Delete all but the `keep` newest step_*.pt (last.pt and best.pt are never touched)."""
        files = self.step_checkpoints()
        for _, f in files[: max(len(files) - keep, 0)]:
            f.unlink(missing_ok=True)

    def remove_stale_temps(self) -> list[Path]:
        """Delete temp files a killed writer left in checkpoints/ (never a finished checkpoint)."""
        removed = []
        for f in self.checkpoints.glob(".*"):
            if f.is_file() and (f.name.endswith(TEMP_SUFFIX) or f.name.endswith(".link")):
                try:
                    f.unlink()
                    removed.append(f)
                except OSError:
                    pass
        return removed

    # ------------------------------------------------------------ writing

    def create(self, only_root: bool = False) -> None:
        """The directory with samples/ and checkpoints/ (`only_root`: the directory alone)."""
        try:
            for d in (self.path,) if only_root else (self.path, self.samples, self.checkpoints):
                problem = input_problem(d)
                if problem not in (MISSING, DIRECTORY):  # mkdir would say only 'File exists'
                    raise self.write_failure(f"{d} must be a folder, and {problem or 'it is a file'}; move it away")
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.write_failure(exc) from None

    def write_failure(self, why: OSError | str) -> GanError:
        """'cannot write the run directory RUN: WHY', an OSError said by its reason and its file."""
        if isinstance(why, OSError):
            why = f"{why.strerror or why}" + (f" ({why.filename})" if why.filename else "")
        return GanError(f"cannot write the run directory {self.path}: {why}")

    def log_command(self, lines: list[str]) -> None:
        """Append an entry (a blank line after it) to command.txt."""
        with open(self.command_log, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n\n")

    def note(self, line: str) -> None:
        """Append one line to command.txt (a rollback, a warning worth keeping)."""
        with open(self.command_log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    @contextmanager
    def writer(self, role: str, command: str) -> Iterator[None]:
        """Hold this run's `role` lock (train | outputs) while the body runs; a GanError naming
        the holder's PID and command when another process holds it."""
        with hold_lock(self.path / LOCKS[role], command, f"{self.path} is being written by"):
            yield


DEFAULT_PARENT = Path("runs")
"""Where a run without --out goes: runs/<name>-<YYYYmmdd-HHMMSS>."""


def default(name: str, parent: Path = DEFAULT_PARENT) -> RunDir:
    """runs/<name>-<YYYYmmdd-HHMMSS>, with -2, -3 ... when that name is taken (same second).

    The directory is created here (mkdir is atomic), so two runs started in the same second can
    never claim the same name; call it only once every check of the run has passed.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = parent / f"{name}-{stamp}"
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return RunDir(candidate)
        except FileExistsError:
            n += 1
            candidate = Path(f"{base}-{n}")
        except OSError as exc:
            raise GanError(
                f"cannot create the run directory {candidate}: {exc.strerror or exc} (choose another with --out)"
            ) from None


def of_checkpoint(ckpt_path: Path) -> RunDir:
    """The run a checkpoint file belongs to (its parent's parent for checkpoints/*.pt)."""
    parent = Path(ckpt_path).resolve().parent
    return RunDir(parent.parent if parent.name == "checkpoints" else parent)


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (then its checkpoints/last.pt); GanError when that is
    missing or not a regular file (a FIFO would block the read forever)."""
    p = Path(path).expanduser()
    if p.is_dir():
        run = RunDir(p)
        for candidate in (run.last, p / "last.pt"):  # a run directory, or its checkpoints folder
            if os.path.lexists(candidate):
                return _checkpoint_file(candidate)
        raise GanError(f"{p} has no checkpoints/last.pt: is it a run directory of a run that saved a checkpoint?")
    if not os.path.lexists(p):
        raise GanError(f"checkpoint not found: {p}")
    return _checkpoint_file(p)


def _checkpoint_file(p: Path) -> Path:
    problem = input_problem(p)
    if problem in (MISSING, DANGLING):
        raise GanError(f"checkpoint not found: {p}" + (" (a link to a missing file)" if problem == DANGLING else ""))
    if problem is not None:
        raise GanError(f"{p} is not a checkpoint file: {problem}")
    return p


HELD = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES})
"""What flock(LOCK_NB) raises when another process holds the lock (EACCES on some systems)."""


@contextmanager
def hold_lock(lock_path: Path, command: str, busy: str) -> Iterator[None]:
    """An exclusive, non-blocking flock on `lock_path`, with this process's PID and `command` written
    in it for the next one to read; GanError '<busy> PID (COMMAND); ...' when taken."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise GanError(f"cannot open the lock file {lock_path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except OSError as exc:
            if exc.errno in HELD:
                raise GanError(f"{busy} {_holder(fh)}; wait for it to finish, or stop it first") from None
            # ENOLCK, EOPNOTSUPP, ...: the file system keeps no locks (NFS without its lock daemon,
            # some FUSE mounts); reported as held, the command waited for a holder that was never there
            print(
                f"warning: {lock_path.parent} is on a file system that cannot lock files "
                f"({exc.strerror or exc}): nothing stops a second command on it while this one runs",
                file=sys.stderr,
                flush=True,
            )
            locked = False
        _write_holder(fh, command)
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()  # free again: the file says nothing about a holder
            if locked:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _write_holder(fh: IO[str], command: str) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()} {command}\n")
    fh.flush()


def _holder(fh: IO[str]) -> str:
    fh.seek(0)
    pid, _, command = fh.read(4096).strip().partition(" ")
    return f"process {pid} ({command})" if pid.isdigit() else "another process"
