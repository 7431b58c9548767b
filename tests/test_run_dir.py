"""gan_cli/run_dir.py: run directories are named, claimed and refused before any work, and never written over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import write_exp
from helpers import trained_run
from helpers import gan, one_clean_error, tiny_toy_config, toy_config, write_config
from typer.testing import CliRunner

from gan_cli import checkpoint, run_dir
from gan_cli.cli import app
import os
import stat
import subprocess
import sys
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir

runner = CliRunner()


# ---------------------------------------------------------------- naming


def test_two_runs_started_in_the_same_second_get_different_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = dt.datetime(2026, 1, 2, 3, 4, 5)

    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> dt.datetime:  # type: ignore[override]
            return frozen

    monkeypatch.setattr(run_dir._dt, "datetime", FrozenClock)
    first = run_dir.default("exp", tmp_path / "runs").path
    second = run_dir.default("exp", tmp_path / "runs").path
    assert first.name == "exp-20260102-030405" and second.name == "exp-20260102-030405-2"
    assert first.is_dir() and second.is_dir(), "each run holds its directory from the moment it is named"

    # and through the command: two runs of one config in the same second
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(toy_config(name="twin", train={**toy_config()["train"], "steps": 2})), encoding="utf-8")
    for _ in range(2):
        assert runner.invoke(app, ["train", str(cfg)]).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith("twin"))
    assert runs == ["twin-20260102-030405", "twin-20260102-030405-2"]
    assert all((tmp_path / "runs" / r / "checkpoints" / "last.pt").is_file() for r in runs)


# ---------------------------------------------------------------- claiming and refusing


def test_non_empty_out_is_refused_without_resume(tmp_path: Path) -> None:
    cfg = write_exp(tmp_path, tiny_toy_config())
    run = tmp_path / "run"
    run.mkdir()
    (run / "precious.txt").write_text("x")
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 1 and "exists and is not empty" in result.output
    assert sorted(p.name for p in run.iterdir()) == ["precious.txt"]


def test_default_run_dir_uses_name_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_exp(tmp_path, tiny_toy_config(train={"steps": 2}))
    assert gan("train", cfg).exit_code == 0
    assert gan("train", cfg).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(r.startswith("tiny-") for r in runs)


# ---------------------------------------------------------------- a run that failed before its first checkpoint


def test_a_run_that_failed_before_its_first_checkpoint_is_reused_and_never_resumed(tmp_path: Path) -> None:
    cfg = toy_config(train={"steps": 4, "nan_policy": "stop", "optimizer": {"name": "sgd", "lr": 1e30}}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8})
    write_config(tmp_path / "c.yaml", cfg)
    out = tmp_path / "run"
    first = gan("train", tmp_path / "c.yaml", "--out", out)
    assert first.exit_code == 1 and (out / "config.yaml").is_file() and not (out / "checkpoints" / "last.pt").exists()
    resumed = one_clean_error(gan("train", "--resume", out))
    assert "stopped before its first checkpoint" in resumed and "without --resume" in resumed
    write_config(tmp_path / "good.yaml", toy_config(train={"steps": 4}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8}))
    again = gan("train", tmp_path / "good.yaml", "--out", out)
    assert again.exit_code == 0, again.output
    assert checkpoint.load(out)["step"] == 4
    assert "restarted: the earlier start" in (out / "command.txt").read_text()


def test_a_directory_with_other_files_is_still_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("x: 1\n")
    (out / "thesis.tex").write_text("my work\n")
    write_config(tmp_path / "c.yaml", toy_config(train={"steps": 4}))
    assert "exists and is not empty" in one_clean_error(gan("train", tmp_path / "c.yaml", "--out", out))
    assert (out / "thesis.tex").read_text() == "my work\n"


# ---------------------------------------------------------------- hostile inputs: unwritable places


def twelve_steps(tmp_path: Path) -> Path:
    """12 steps, a row every 2 and a checkpoint every 4."""
    cfg = toy_config(train={**toy_config()["train"], "steps": 12}, log={**toy_config()["log"], "every": 2, "checkpoint_every": 4})
    return write_config(tmp_path / "twelve.yaml", cfg)


def test_an_unwritable_out_is_one_message_and_creates_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    message = one_clean_error(gan("train", twelve_steps(tmp_path), "--out", blocker / "run"))
    assert f"cannot write the run directory {blocker / 'run'}" in message
    assert blocker.read_text() == "not a directory"


def test_an_unwritable_runs_parent_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("runs").write_text("a file where the runs/ folder should be")
    message = one_clean_error(gan("train", twelve_steps(tmp_path)))
    assert "cannot create the run directory runs/tiny-" in message


# ---- one writer per run: the locks (moved from the third hostile pass)


def hold(lock: str, run: Path) -> subprocess.Popen[str]:
    """Another process holding the run's `lock` (as a running `gan train` or `gan eval` would)."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from gan_cli.run_dir import RunDir
        with RunDir(Path({str(run)!r})).writer({lock!r}, "gan train elsewhere"):
            print("HELD", flush=True)
            sys.stdin.readline()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)


@pytest.mark.parametrize("args", [["--resume"], []], ids=["resume", "new-run-same-out"])
def test_a_second_gan_train_on_a_run_being_written_is_one_line_naming_the_holder(tmp_path: Path, args: list[str]) -> None:
    """A resume beside a running resume; a new run into the empty directory another start has just locked."""
    run = trained_run(tmp_path) if args else tmp_path / "empty"
    run.mkdir(exist_ok=True)
    write_config(tmp_path / "c.yaml", tiny_toy_config())
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and not p.name.startswith(".lock")}
    holder = hold("train", run)
    try:
        message = one_clean_error(gan("train", tmp_path / "c.yaml", "--out", run, *args, "--set", "train.steps=20"))
    finally:
        release(holder)
    assert f"is being written by process {holder.pid} (gan train elsewhere)" in message
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and not p.name.startswith(".lock")}
    assert after == before, "the refused command wrote nothing"


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    run = trained_run(tmp_path)
    holder = hold("train", run)
    holder.kill()  # a crash: no clean release
    holder.wait(timeout=60)
    result = gan("train", "--resume", run, "--set", "train.steps=16")
    assert result.exit_code == 0, result.output


def test_readers_and_evaluations_go_on_while_a_run_trains(tmp_path: Path) -> None:
    run = trained_run(tmp_path)
    holder = hold("train", run)
    try:
        assert gan("sample", "--ckpt", run, "-n", "8", "--out", tmp_path / "s.npy").exit_code == 0
        result = gan("eval", "--ckpt", run, "--num-samples", "200")
        assert result.exit_code == 0, result.output
    finally:
        release(holder)
    assert (run / "eval.json").is_file()


def test_two_evaluations_never_write_one_run_at_once(tmp_path: Path) -> None:
    run = trained_run(tmp_path)
    holder = hold("outputs", run)
    try:
        message = one_clean_error(gan("eval", "--ckpt", run, "--num-samples", "200"))
    finally:
        release(holder)
    assert f"process {holder.pid}" in message and not (run / "eval.json").exists()


def test_a_run_directory_holding_only_its_lock_is_still_empty(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.create(only_root=True)
    with run.writer("train", "gan train"):
        assert not run.is_nonempty()
    assert (run.path / ".lock-train").read_text() == "", "a free lock names no holder"


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_run_folder_that_is_not_a_folder_is_named(tmp_path: Path, kind: str) -> None:
    # samples/ as a file or a link to nowhere: mkdir said only 'File exists', naming no file
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    if kind == "file":
        run.samples.write_text("x")
    else:
        run.samples.symlink_to(tmp_path / "gone")
    with pytest.raises(GanError) as err:
        run.create()
    what = "it is a file" if kind == "file" else "it is a link to a missing file"
    assert str(err.value) == f"cannot write the run directory {run.path}: {run.samples} must be a folder, and {what}; move it away"
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    run.samples.unlink()
    run.samples.symlink_to(linked)  # a link to a folder (samples on another disk) is a folder
    run.create()
    assert run.checkpoints.is_dir()


@pytest.mark.parametrize("code, held", [("EWOULDBLOCK", True), ("ENOLCK", False), ("EOPNOTSUPP", False)])
def test_a_file_system_that_cannot_lock_is_warned_of_not_taken_for_a_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: str, held: bool
) -> None:
    """NFS without its lock daemon refuses flock with ENOLCK: the command said another process held
    the run and to wait for it, forever. Now it runs, warned that nothing guards the run."""
    import errno
    import fcntl

    def refused(fd: Any, operation: int) -> None:
        if operation & fcntl.LOCK_EX:
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.setattr(fcntl, "flock", refused)
    lock = tmp_path / ".lock"
    if held:  # the lock is another process's: as before
        lock.write_text(f"{os.getpid()} gan train\n")
        with pytest.raises(GanError, match=r"^busy process \d+ \(gan train\); wait for it to finish"):
            with run_dir.hold_lock(lock, "gan eval", "busy"):
                pass
        return
    with run_dir.hold_lock(lock, "gan eval", "busy"):
        assert lock.read_text() == f"{os.getpid()} gan eval\n"
    assert lock.read_text() == ""
    warning = capsys.readouterr().err
    assert warning.startswith(f"warning: {tmp_path} is on a file system that cannot lock files (")
    assert "nothing stops a second command on it while this one runs" in warning
