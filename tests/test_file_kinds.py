"""gan_cli/file_kinds.py: the kind of a directory entry that is not a regular file."""

from __future__ import annotations

import os
from pathlib import Path

from gan_cli.file_kinds import DANGLING, MISSING, input_problem, special_reason


def test_regular_files_and_absent_paths_have_no_reason(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert special_reason(tmp_path / "f") is None
    assert special_reason(tmp_path / "absent") is None


def test_each_special_kind_is_named(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert special_reason(tmp_path / "pipe") == "it is a FIFO (named pipe)"
    assert special_reason(tmp_path) == "it is a directory"
    assert special_reason(Path("/dev/null")) == "it is a character device"


def test_a_link_is_special_unless_followed_to_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "to_pipe").symlink_to(tmp_path / "pipe")
    assert special_reason(tmp_path / "link") == "it is a symbolic link"
    assert special_reason(tmp_path / "link", follow_links=True) is None
    assert special_reason(tmp_path / "to_pipe", follow_links=True) == "it is a FIFO (named pipe)"


def test_input_problem_tells_missing_dangling_and_special_apart(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    os.mkfifo(tmp_path / "fifo")
    assert input_problem(tmp_path / "file") is None and input_problem(tmp_path / "link") is None
    assert input_problem(tmp_path / "absent") == MISSING
    assert input_problem(tmp_path / "dangling") == DANGLING
    assert input_problem(tmp_path / "fifo") == "it is a FIFO (named pipe)"
    assert input_problem(tmp_path) == "it is a directory"
