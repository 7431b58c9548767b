"""The one error type that reaches the user as a single line and exit code 1."""

from __future__ import annotations


class GanError(Exception):
    """A mistake the user can fix (config, file, checkpoint); printed without a traceback."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)
