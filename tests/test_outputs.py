"""gan_cli/outputs.py: no command writes over a run's own files, and every output is a new file moved
into place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gan_cli import checkpoint, outputs
from gan_cli.errors import GanError
import stat
import subprocess
import sys
import textwrap
from helpers import trained_run
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.run_dir import RunDir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "samples").mkdir()
    for name in ("config.yaml", "metrics.jsonl", "command.txt", "selection.jsonl"):
        (run / name).write_text("x\n")
    (run / "checkpoints" / "last.pt").write_bytes(b"weights")
    os.link(run / "checkpoints" / "last.pt", run / "checkpoints" / "step_0000010.pt")
    return run


@pytest.mark.parametrize(
    "target",
    ["checkpoints/last.pt", "checkpoints/step_0000010.pt", "checkpoints/best.pt", "checkpoints/new.png", "config.yaml", "metrics.jsonl", "command.txt", "selection.jsonl"],
)
def test_a_run_s_own_files_are_refused(run_dir: Path, target: str) -> None:
    with pytest.raises(GanError, match="--out .*refusing to write there"):
        outputs.check_output(run_dir / target, "--out")


def test_a_symlink_to_a_checkpoint_is_refused(run_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "innocent.png"
    link.symlink_to(run_dir / "checkpoints" / "last.pt")
    with pytest.raises(GanError, match="checkpoints folder"):
        outputs.check_output(link, "--out")


@pytest.mark.parametrize("target", ["samples/more.png", "eval.json", "elsewhere/config.yaml"])
def test_ordinary_outputs_are_allowed(run_dir: Path, target: str) -> None:
    assert outputs.check_output(run_dir / target, "--json") == run_dir / target


def test_write_atomic_replaces_a_hard_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    original = tmp_path / "original.bin"
    original.write_bytes(b"keep me")
    linked = tmp_path / "linked.png"
    os.link(original, linked)
    outputs.write_atomic(linked, lambda tmp: tmp.write_bytes(b"new"), "--out")
    assert original.read_bytes() == b"keep me"
    assert linked.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linked.png", "original.bin"]


def test_write_atomic_keeps_the_old_file_and_no_temp_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.npy"
    target.write_bytes(b"old")

    def failing(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(GanError, match="--out .*No space left on device"):
        outputs.write_atomic(target, failing, "--out")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]


def test_write_atomic_temp_keeps_the_suffix_so_format_by_suffix_writers_work(tmp_path: Path) -> None:
    seen = []
    outputs.write_atomic(tmp_path / "grid.png", lambda tmp: (seen.append(tmp.suffix), tmp.write_bytes(b"")), "--out")
    assert seen == [".png"]


# ---------------------------------------------------------------- through the commands


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 12-step toy run with periodic checkpoints (hard links to last.pt)."""
    from helpers import gan, tiny_toy_config, write_config

    tmp = tmp_path_factory.mktemp("trained")
    cfg = write_config(tmp / "cfg.yaml", tiny_toy_config(log={"every": 4, "samples_every": 6, "checkpoint_every": 6, "keep": 5, "picture_samples": 16}))
    result = gan("train", cfg, "--out", tmp / "run")
    assert result.exit_code == 0, result.output
    return tmp / "run"


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and "samples" not in p.parts}


@pytest.mark.parametrize(
    "args",
    [
        ("sample", "--ckpt", "{run}", "--out", "{run}/checkpoints/step_0000006.pt"),
        ("sample", "--ckpt", "{run}", "--out", "{run}/checkpoints/last.pt"),
        ("sample", "--ckpt", "{run}", "-n", "4", "--out", "{run}/config.yaml.npy"),
        ("sample", "--ckpt", "{run}", "--out", "{run}/checkpoints/pictures.png"),
        ("eval", "--ckpt", "{run}", "--json", "{run}/config.yaml"),
        ("eval", "--ckpt", "{run}", "--json", "{run}/command.txt"),
        ("eval", "--ckpt", "{run}", "--json", "{run}/checkpoints/last.pt"),
        ("plot", "curves", "{run}", "--out", "{run}/checkpoints/last.png"),
    ],
)
def test_no_command_writes_over_a_run_s_own_files(trained: Path, args: tuple[str, ...]) -> None:
    from helpers import gan, one_clean_error

    before = _snapshot(trained)
    result = gan(*(a.format(run=trained) for a in args))
    if args[-1].endswith("config.yaml.npy"):  # an innocent name beside the run's files is fine
        assert result.exit_code == 0, result.output
        (trained / "config.yaml.npy").unlink()
    else:
        assert "refusing to write there" in one_clean_error(result)
    assert _snapshot(trained) == before
    assert checkpoint.load(trained)["step"] == 12


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be created")
@pytest.mark.parametrize(
    "args",
    [
        ("eval", "--ckpt", "{run}", "--json", "/proc/version"),  # a regular file, in a folder that takes none
        ("sample", "--ckpt", "{run}", "--out", "/proc/gan-samples.npy"),
        ("plot", "curves", "{run}", "--out", "/proc/gan-curves.png"),
        ("compare", "{run}", "{copy}", "--out", "/proc/gan-compare"),
    ],
)
def test_an_output_folder_that_takes_no_file_is_refused_before_the_work(
    trained: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Permission bits tell root nothing of such a folder (nor of a read-only mount): `gan eval`
    measured for its whole length and failed at its first picture. A file is now created there
    and removed before the work starts."""
    import shutil

    from helpers import gan, one_clean_error

    copy = tmp_path / "copy"  # a second run for gan compare (one run given twice is refused)
    shutil.copytree(trained, copy)
    message = one_clean_error(gan(*(a.format(run=trained, copy=copy) for a in args)))
    assert "cannot create a file in /proc" in message and "choose another place" in message
    assert "gan eval:" not in message  # no section of the evaluation started


def test_an_output_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(GanError, match=r"notes.txt/deeper/x.npy: .*\(Not a directory\)"):
        outputs.check_output(tmp_path / "notes.txt" / "deeper" / "x.npy", "--out")
    with pytest.raises(GanError, match=r"notes.txt is not a folder; choose another place"):
        outputs.check_writable(tmp_path / "notes.txt" / "deeper", "--json")
    outputs.check_output(tmp_path / "new" / "deeper" / "x.npy", "--out")  # folders still to be made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # the check leaves nothing behind


def test_sample_over_a_link_to_last_pt_replaces_the_link_not_the_checkpoint(trained: Path, tmp_path: Path) -> None:
    from helpers import gan

    before = (trained / "checkpoints" / "last.pt").read_bytes()
    out = tmp_path / "samples.npy"
    os.link(trained / "checkpoints" / "last.pt", out)
    result = gan("sample", "--ckpt", trained, "-n", "5", "--out", out)
    assert result.exit_code == 0, result.output
    assert (trained / "checkpoints" / "last.pt").read_bytes() == before
    import numpy as np

    assert np.load(out).shape[0] == 5


# ---- hostile inputs: only regular files are replaced, the umask is kept




@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_outputs_never_replace_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    run = trained_run(tmp_path)
    target = tmp_path / "out.json"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "precious.json").write_text("keep")
        target.symlink_to(tmp_path / "precious.json")
    else:
        target = Path("/dev/null")
    message = one_clean_error(gan("eval", "--ckpt", run, "--num-samples", "200", "--json", target))
    assert "refusing to replace it" in message
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    elif kind == "symlink":
        assert target.is_symlink() and (tmp_path / "precious.json").read_text() == "keep"
    else:
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_run_file_that_became_a_fifo_stops_training_before_it_blocks(tmp_path: Path) -> None:
    run = trained_run(tmp_path)
    (run / "metrics.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    message = one_clean_error(gan("train", "--resume", run, "--set", "train.steps=16"))
    assert "metrics.jsonl" in message and "FIFO" in message


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run = trained_run(tmp_path)
    finally:
        os.umask(old)
    for path in (run / "checkpoints" / "last.pt", run / "config.yaml", next((run / "samples").glob("*.png"))):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# ---- a file system that cannot fsync a directory


def _directory_fsync_fails(monkeypatch: pytest.MonkeyPatch, errno_value: int) -> None:
    """os.fsync raising `errno_value` for directories only, as some network and FUSE file systems do."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno_value, os.strerror(errno_value))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("name", ["EINVAL", "ENOTSUP"])
def test_a_directory_that_cannot_be_synced_keeps_the_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Training stopped at its first checkpoint on such a file system ("writing to RUN failed:
    Invalid argument"), with the checkpoint already renamed into place."""
    import errno

    _directory_fsync_fails(monkeypatch, getattr(errno, name))
    target = tmp_path / "last.pt"
    checkpoint.atomic_save({"step": 3}, target)
    import torch

    assert torch.load(target, weights_only=True) == {"step": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"], "no temp file left"


def test_a_real_failure_to_sync_a_directory_is_still_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    _directory_fsync_fails(monkeypatch, errno.EIO)
    with pytest.raises(OSError, match="Input/output error"):
        outputs.sync_directory(tmp_path)
