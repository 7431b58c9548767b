"""Standard output that stops taking writes while a command runs: a pipe whose reader has gone
(`gan train ... | head`, a pager quit early, a `tee` that died) or a file on a disk that filled.

Python ignores SIGPIPE, so such a write raises BrokenPipeError (or OSError: ENOSPC, EIO) out of
whatever print reached it. In `gan train` that was a crash between two checkpoints, and click's
handler then exited 1 without a word; `gan eval` lost its eval.json. `install()` wraps sys.stdout
(and sys.stderr) once, at the command line's entry: the first failed write points the file
descriptor at os.devnull (later writes, and the interpreter's last flush, then succeed and go
nowhere) and, for standard output, records why. Commands that write files go on and write them;
the training loop asks `stop_request()` after each step and stops as it does on a signal, after a
checkpoint.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO

STOP_NAME = "SIGPIPE"
"""The stop request a closed output makes: a signal's name, so several processes can agree on it."""

_reason: str | None = None  # why stdout stopped taking writes; None while it takes them


class GuardedStream:
    """A text stream that turns its first failed write or flush into os.devnull and then drops
    what follows; every other attribute (encoding, isatty, fileno) is the stream's own. Standard
    output's failure is recorded for `stop_request` (and a failure other than a reader that left
    is said on stderr); standard error's is only silenced, since nothing could be said of it."""

    def __init__(self, stream: TextIO, standard_output: bool = True) -> None:
        self._stream = stream
        self._standard_output = standard_output
        self.failed = False

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._close(exc)
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._stream.flush()
            except OSError as exc:
                self._close(exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _close(self, exc: OSError) -> None:
        global _reason
        self.failed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor (a test's stream): writes are dropped above
            pass
        if not self._standard_output:
            return
        _reason = "its reader exited" if exc.errno == errno.EPIPE else (exc.strerror or str(exc))
        if exc.errno != errno.EPIPE:  # `| head` is asked for; a full disk under the output is worth a line
            print(
                f"warning: standard output could not be written ({_reason}); what follows is not shown", file=sys.stderr
            )


def install() -> None:
    """Guard sys.stdout and sys.stderr (once; a second call leaves them as they are): with `2>&1 |
    head` the stop's own message meets the closed pipe too, and click then exited 1. Both also
    escape what their encoding cannot hold (`--out rün` under PYTHONIOENCODING=ascii or a Latin-1
    locale printed `\\xfc`, where the first line naming the run directory raised UnicodeEncodeError
    and left it half-written)."""
    _escape_unencodable(sys.stdout)
    _escape_unencodable(sys.stderr)
    if sys.stdout is not None and not isinstance(sys.stdout, GuardedStream):
        sys.stdout = GuardedStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, GuardedStream):
        sys.stderr = GuardedStream(sys.stderr, standard_output=False)


def _escape_unencodable(stream: TextIO | None) -> None:
    """Make `stream` write a character its encoding lacks as a backslash escape (Python's own
    choice for stderr), not raise; a stream that cannot be reconfigured is left as it is."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None:
        return
    try:
        reconfigure(errors="backslashreplace")
    except (ValueError, OSError):  # io.UnsupportedOperation is both
        pass


def closed_reason() -> str | None:
    """Why standard output stopped taking writes ('its reader exited', a disk error), or None."""
    return _reason


def stop_request() -> str | None:
    """STOP_NAME once standard output has stopped taking writes, else None (for the training loop)."""
    return STOP_NAME if _reason is not None else None


def reset() -> None:
    """Forget a closed output (for tests, which run several commands in one process)."""
    global _reason
    _reason = None
