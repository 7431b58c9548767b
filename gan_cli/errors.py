"""The one error type that reaches the user as a single line and exit code 1, and the one way a
command stops early with another exit code."""

from __future__ import annotations

import reprlib


class GanError(Exception):
    """A mistake the user can fix (config, file, checkpoint); printed without a traceback."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class Stopped(Exception):
    """A command that stopped before finishing, on purpose (a signal, or a failure its processes have
    already reported): `message` (may be empty) on stderr, then exit with `code` (130 for a signal)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


SHOWN_CHARS = 80


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """repr(value) for a message, cut to `limit` characters: a message never prints an unbounded value."""
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlist, r.maxdict, r.maxlevel = limit, limit, 8, 8, 3
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


PATH_CHARS = 160


def file_error(exc: OSError) -> str:
    """'cannot use PATH: WHAT THE SYSTEM SAID' for a file-system error about one path (a name too
    long is cut to PATH_CHARS characters, keeping both ends)."""
    path = str(exc.filename)
    if len(path) > PATH_CHARS:
        path = path[: PATH_CHARS // 2] + "..." + path[-PATH_CHARS // 2 + 3 :]
    return f"cannot use {path}: {exc.strerror or exc}"


NO_HOME = "Could not determine home directory."
"""CPython's RuntimeError message when pathlib cannot expand a `~` (HOME unset and the user has no
passwd entry, as for a container's arbitrary user; or ~NAME of a user that does not exist)."""


def no_home_error(exc: RuntimeError) -> str | None:
    """The one-line message for pathlib's failure to expand `~`, or None for any other RuntimeError."""
    if str(exc) != NO_HOME:
        return None
    return (
        "a path starts with ~, and this process has no home directory to put in its place (HOME is unset and "
        "the user has no passwd entry, or ~NAME names no user); set HOME or give the path in full"
    )
