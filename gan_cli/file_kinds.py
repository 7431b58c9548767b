"""What a directory entry is when it is not a regular file: a FIFO, a device, a socket, a directory
or a symbolic link. Readers refuse such inputs by name before opening them (opening a FIFO for
reading waits for a writer forever); writers never replace them (gan_cli.outputs)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def special_reason(path: Path, follow_links: bool = False) -> str | None:
    """'it is a FIFO (named pipe)' and the like when `path` is there and not a regular file; None
    when it is absent or a regular file. With follow_links, a link to a regular file is regular."""
    try:
        mode = (os.stat if follow_links else os.lstat)(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    for test, what in _KINDS:
        if test(mode):
            return f"it is {what}"
    return None if stat.S_ISREG(mode) else "it is not a regular file"


MISSING = "it does not exist"
DANGLING = "it is a link to a missing file"
DIRECTORY = "it is a directory"


def input_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file: MISSING, DANGLING, or its kind ('it is a FIFO (named
    pipe)', 'it is a directory', ...), or why it cannot be examined ('File name too long',
    'Permission denied'); None for a regular file or a link to one. Under a file (x.txt/y) is
    MISSING, as for Path.exists."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    if not os.path.exists(path):
        return DANGLING
    return special_reason(path, follow_links=True)
