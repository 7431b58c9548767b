"""gan_cli/stdout_guard.py: a standard output that stops taking writes (a pipe whose reader exited,
a full disk) is pointed at os.devnull and remembered, never an exception out of a print.

The ends of this (training stops with a checkpoint, `gan eval | head` keeps eval.json) are tested
on real pipelines in tests/test_commands_train.py and tests/test_commands_eval.py."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gan_cli import stdout_guard

from helpers import child_env, tiny_toy_config, write_config


@pytest.fixture(autouse=True)
def _fresh_guard() -> Iterator[None]:
    stdout_guard.reset()
    yield
    stdout_guard.reset()


def _same_file(fd: int, path: str) -> bool:
    a, b = os.fstat(fd), os.stat(path)
    return (a.st_dev, a.st_ino, a.st_rdev) == (b.st_dev, b.st_ino, b.st_rdev)


def test_an_open_output_is_written_through() -> None:
    buffer = io.StringIO()
    guarded = stdout_guard.GuardedStream(buffer)
    assert guarded.write("row 1\n") == 6
    guarded.flush()
    assert buffer.getvalue() == "row 1\n"
    assert stdout_guard.closed_reason() is None and stdout_guard.stop_request() is None
    assert guarded.getvalue() == "row 1\n", "every other attribute is the stream's own"


def test_a_pipe_whose_reader_exited_goes_to_devnull_without_a_word(capsys: pytest.CaptureFixture[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: the next write raises BrokenPipeError (Python ignores SIGPIPE)
    stream = os.fdopen(write_end, "w", buffering=1)
    guarded = stdout_guard.GuardedStream(stream)
    try:
        guarded.write("step 1\n")  # line buffered: this write reaches the pipe
        guarded.flush()
        assert stdout_guard.closed_reason() == "its reader exited"
        assert stdout_guard.stop_request() == stdout_guard.STOP_NAME == "SIGPIPE"
        assert _same_file(write_end, os.devnull), "the descriptor now points at os.devnull"
        assert guarded.write("step 2\n") == 7, "later writes are taken and dropped"
        guarded.flush()
    finally:
        stream.close()  # its last flush goes to os.devnull: no 'Exception ignored' at exit
    assert capsys.readouterr().err == "", "a reader that exits (| head) is asked for: no warning"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_the_output_is_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    stream = open("/dev/full", "w", buffering=1)  # every write fails with ENOSPC
    guarded = stdout_guard.GuardedStream(stream)
    try:
        guarded.write("step 1\n")
        guarded.write("step 2\n")
        guarded.flush()
    finally:
        stream.close()
    assert stdout_guard.closed_reason() == "No space left on device"
    assert stdout_guard.stop_request() == "SIGPIPE"
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "standard output could not be written (No space left on device)" in err


def test_a_stream_without_a_descriptor_drops_what_follows() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    guarded = stdout_guard.GuardedStream(Broken())
    assert guarded.write("x") == 1
    assert stdout_guard.closed_reason() == "its reader exited"


def test_a_closed_standard_error_is_silenced_and_asks_no_stop() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w", buffering=1)
    guarded = stdout_guard.GuardedStream(stream, standard_output=False)
    try:
        guarded.write("interrupted by SIGTERM\n")  # `2>&1 | head`: the stop's own message meets the closed pipe
        assert guarded.failed and _same_file(write_end, os.devnull)
    finally:
        stream.close()
    assert stdout_guard.closed_reason() is None and stdout_guard.stop_request() is None


def test_install_wraps_stdout_and_stderr_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    stdout_guard.install()
    first = sys.stdout, sys.stderr
    assert all(isinstance(s, stdout_guard.GuardedStream) for s in first)
    stdout_guard.install()
    assert (sys.stdout, sys.stderr) == first, "a second install does not wrap the wrappers"
    print("through", end="")
    print("said", end="", file=sys.stderr)
    assert out.getvalue() == "through" and err.getvalue() == "said"


def test_install_escapes_what_the_output_encoding_cannot_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="ascii")  # errors="strict", as PYTHONIOENCODING=ascii makes stdout
    err = io.TextIOWrapper(err_bytes, encoding="latin-1")
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    stdout_guard.install()
    print("run directory rün")
    print("error: 日本 is not a config key", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    assert out_bytes.getvalue() == b"run directory r\\xfcn\n"
    assert err_bytes.getvalue() == b"error: \\u65e5\\u672c is not a config key\n"


def test_a_run_directory_the_output_encoding_cannot_spell_trains(tmp_path: Path) -> None:
    """`--out rün` under an ASCII output: the first line naming the run raised UnicodeEncodeError,
    a traceback and a run directory with no checkpoint; now the name is escaped and the run ends."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    env = child_env() | {"PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "gan_cli", "train", str(cfg), "--out", "rün"],
        cwd=tmp_path, env=env, capture_output=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert b"Traceback" not in done.stderr
    assert b"r\\xfcn" in done.stdout
    assert (tmp_path / "rün" / "checkpoints" / "last.pt").is_file()
