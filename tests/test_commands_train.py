"""Signals on a real `gan train` child process: SIGINT/SIGTERM checkpoint and exit 130, a second
signal exits at once, and SIGKILL at any moment of a checkpoint write leaves last.pt loadable.

Every wait is bounded and event-driven: the tests read the child's output line by line (a training
row, or a line printed by an instrumented write) instead of sleeping.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from helpers import (
    Child,
    is_step_line,
    metrics_rows,
    toy_config,
    write_config,
)
from typer.testing import CliRunner

from gan_cli.run_dir import RunDir
from gan_cli import run_dir
from gan_cli import checkpoint
from gan_cli.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()
LONG = 1_000_000  # steps: far more than a test ever lets run


def long_config(tmp_path: Path, **log: int) -> Path:
    cfg = toy_config(train={**toy_config()["train"], "steps": LONG}, log={**toy_config()["log"], "every": 1, **log})
    return write_config(tmp_path / "long.yaml", cfg)


def checkpoint_files(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_checkpoints_prints_the_resume_command_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    run = tmp_path / "run"
    child = Child(["train", str(long_config(tmp_path)), "--out", str(run)], cwd=tmp_path)
    try:
        child.wait_for_line(is_step_line)  # training is under way: the first metrics row is out
        child.signal(sig)
        assert child.wait(timeout=120) == 130
    finally:
        child.kill()
    err = child.stderr()
    last = run / "checkpoints" / "last.pt"
    assert f"interrupted by {sig.name}: checkpoint written to {last}" in err
    assert f"resume with: gan train --resume {run}" in err
    assert "Traceback" not in err
    step = checkpoint.load(last)["step"]
    logged = [r["step"] for r in metrics_rows(run)]
    assert 1 <= logged[-1] <= step < LONG, "the checkpoint is at or after the last row, long before the budget"

    # the printed command continues the run (with a small budget so the test ends)
    result = runner.invoke(app, ["train", "--resume", str(run), "--set", f"train.steps={step + 2}"])
    assert result.exit_code == 0, result.output
    assert [r["step"] for r in metrics_rows(run)] == list(range(1, step + 3)), "no duplicated or missing step"


# Holds the child inside its second checkpoint write (temp file written, not yet renamed) for as
# long as the test likes. Each line the test writes to its stdin is answered with whether the
# training loop's signal handler has recorded a request: a signal may land on any thread, and the
# main thread runs Python handlers only when it wakes, so the test pokes it awake and asks.
HOLD_IN_SECOND_SAVE = """
import os, signal, sys
real_fsync, calls = os.fsync, [0]
def fsync(fd):
    calls[0] += 1
    if calls[0] == 3:  # the first save fsyncs its file and its directory; this is the second save's file
        print("HELD IN SAVE", flush=True)
        while sys.stdin.readline():
            handler = signal.getsignal(signal.SIGINT)
            print("REQUESTED" if getattr(getattr(handler, "__self__", None), "requested", None) else "NOT YET", flush=True)
    real_fsync(fd)
os.fsync = fsync
"""


def poke(child: Child) -> str:
    assert child.proc.stdin is not None
    child.proc.stdin.write("\n")
    child.proc.stdin.flush()
    return child.wait_for_line(lambda line: line.strip() in ("REQUESTED", "NOT YET"), timeout=60).strip()


def test_a_second_signal_exits_at_once_and_leaves_last_pt_loadable(tmp_path: Path) -> None:
    run = tmp_path / "run"
    child = Child(["train", str(long_config(tmp_path, checkpoint_every=3)), "--out", str(run)], cwd=tmp_path, prelude=HOLD_IN_SECOND_SAVE)
    try:
        child.wait_for_line(lambda line: line.startswith("HELD IN SAVE"))
        child.signal(signal.SIGINT)  # the first asks for a checkpoint, which waits for the held save
        for _ in range(100):
            if poke(child) == "REQUESTED":
                break
        else:
            raise AssertionError("the first SIGINT was never recorded")
        child.signal(signal.SIGINT)  # the second must not wait for the save
        try:
            poke(child)  # wake the main thread so Python runs the handler
        except (AssertionError, BrokenPipeError):
            pass  # it already exited
        assert child.wait(timeout=60) == 130
    finally:
        child.kill()
    err = child.stderr()
    assert "checkpoint written" not in err
    assert "interrupted again: exiting at once; checkpoints/last.pt is the last completed checkpoint" in err
    ckpt = checkpoint.load(run)
    assert ckpt["step"] == 3, "last.pt is still the previous, complete checkpoint"
    leftovers = [n for n in checkpoint_files(run) if n.startswith(".")]
    assert leftovers and all(n.endswith(".tmp") for n in leftovers), "the interrupted write stayed a temp file"
    assert [s for s, _ in RunDir(run).step_checkpoints()] == [3]

    result = runner.invoke(app, ["train", "--resume", str(run), "--set", "train.steps=5"])
    assert result.exit_code == 0, result.output
    assert [r["step"] for r in metrics_rows(run)] == [1, 2, 3, 4, 5]
    assert not [n for n in checkpoint_files(run) if n.startswith(".")], "resume cleared the stale temp file"


# Announces each checkpoint write after its bytes reach the temp file, so the test can kill the
# child while saves are in flight (with checkpoint_every 1, the child is nearly always saving).
ANNOUNCE_SAVES = """
import os
real_fsync = os.fsync
def fsync(fd):
    print("FSYNC", flush=True)
    real_fsync(fd)
os.fsync = fsync
"""

# Writes half of the second checkpoint's bytes, then waits to be killed: a deterministic kill mid-write.
HALF_WRITE = """
import os, sys
real_write, big = os.write, [0]
def write(fd, data):
    if len(data) > 2000:  # checkpoint payloads, not the small files of the run directory
        big[0] += 1
        if big[0] == 2:
            real_write(fd, bytes(data[: len(data) // 2]))
            print("HALF WRITTEN", flush=True)
            sys.stdin.readline()
    return real_write(fd, data)
os.write = write
"""


def assert_checkpoints_sound(run: Path) -> int:
    """last.pt loads; every step_*.pt loads; temp files never pass for checkpoints. Returns last.pt's step."""
    step = checkpoint.load(run)["step"]
    assert run_dir.resolve_checkpoint(run).name == "last.pt"
    for s, path in RunDir(run).step_checkpoints():
        assert checkpoint.load(path)["step"] == s
        assert not path.name.startswith(".")
    for name in checkpoint_files(run):
        assert name == "last.pt" or run_dir.STEP_FILE.match(name) or (name.startswith(".") and name.endswith((".tmp", ".link"))), name
    return step


def test_sigkill_during_checkpoint_writes_never_breaks_last_pt(tmp_path: Path) -> None:
    cfg = long_config(tmp_path, checkpoint_every=1, keep=2)
    run = tmp_path / "run"

    child = Child(["train", str(cfg), "--out", str(run)], cwd=tmp_path, prelude=HALF_WRITE)
    try:
        child.wait_for_line(lambda line: line.startswith("HALF WRITTEN"))
        child.signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        child.kill()
    assert assert_checkpoints_sound(run) == 1, "the half-written second checkpoint never replaced the first"
    assert any(n.endswith(".tmp") for n in checkpoint_files(run))

    previous = 1
    for round_ in range(2):  # kill, resume, kill again: at varying points of the save cycle
        child = Child(["train", "--resume", str(run)], cwd=tmp_path, prelude=ANNOUNCE_SAVES)
        try:
            for _ in range(2 * round_ + 3):
                child.wait_for_line(lambda line: line.startswith("FSYNC"))
            child.signal(signal.SIGKILL)
            assert child.wait(timeout=60) == -signal.SIGKILL
        finally:
            child.kill()
        step = assert_checkpoints_sound(run)
        assert step >= previous, "a resumed run never goes back"
        previous = step
        steps = [r["step"] for r in metrics_rows(run, complete_only=True)]
        assert steps == list(range(1, len(steps) + 1)), "each resume continued the rows without a gap or a repeat"
    assert previous > 1, "the resumed runs made progress"


def test_ctrl_c_before_training_starts_exits_130_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted_load(cfg: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("gan_cli.commands.train.data.load", interrupted_load)
    result = runner.invoke(app, ["train", str(long_config(tmp_path)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 130
    assert "interrupted before training started; no checkpoint was written" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()
