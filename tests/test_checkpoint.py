"""gan_cli/checkpoint.py. Checkpoints that are hostile, broken or never written: code-running pickles,
truncated and foreign files, a full disk or an unwritable run directory; weights holding NaN or inf;
and (fuzz) any bytes in a checkpoint file. (NaN during training: tests/test_training_nan_guard.py.)"""

from __future__ import annotations

import errno
import gzip
import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import file_mutations, loads_or_one_error
from helpers import gan, one_clean_error, toy_config, write_config, write_idx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_cli import checkpoint
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step run with a checkpoint at step 4."""
    tmp = tmp_path_factory.mktemp("good")
    cfg = write_config(tmp / "cfg.yaml", toy_config(train={**toy_config()["train"], "steps": 4}))
    result = gan("train", cfg, "--out", tmp / "run")
    assert result.exit_code == 0, result.output
    return tmp / "run"


# ---------------------------------------------------------------- hostile inputs: checkpoint files


class RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def make_hostile(kind: str, path: Path, good: Path, marker: Path) -> str:
    """Write a bad checkpoint of `kind` to `path`; return the phrase its message must contain."""
    real = good.read_bytes()
    ckpt = checkpoint.load(good)
    ckpt.pop("path")
    if kind == "code-in-torch-save":
        torch.save({**ckpt, "generator": RunsCode(marker)}, path)
        return "refused to load: the file asks to import and call Python code (posix.system)"
    if kind == "code-in-plain-pickle":
        path.write_bytes(pickle.dumps({"format_version": 1, "x": RunsCode(marker)}, protocol=2))
        return "refused to load: the file asks to import and call Python code (posix.system)"
    if kind == "truncated":
        path.write_bytes(real[: len(real) // 2])
        return "not a readable checkpoint (truncated or corrupt?)"
    if kind == "random-bytes":
        path.write_bytes(bytes(torch.randint(0, 256, (5000,), generator=torch.Generator().manual_seed(1), dtype=torch.uint8).tolist()))
        return "not a readable checkpoint"
    if kind == "empty":
        path.write_bytes(b"")
        return "not a readable checkpoint (truncated or corrupt?)"
    if kind == "plain-state-dict":
        torch.save(ckpt["generator"], path)
        return "not a gan-cli checkpoint (no format_version; a plain state_dict or another tool's file?)"
    if kind == "future-format":
        torch.save({**ckpt, "format_version": checkpoint.FORMAT_VERSION + 1}, path)
        return f"checkpoint format {checkpoint.FORMAT_VERSION + 1} is newer than this gan-cli understands"
    if kind == "wrong-types":
        torch.save({**ckpt, "generator": [1, 2, 3]}, path)
        return "damaged checkpoint: generator has the wrong type"
    if kind == "mismatched-weights":
        weights = {name: torch.zeros(3, 3) for name in ckpt["generator"]}
        torch.save({**ckpt, "generator": weights}, path)
        return "not match"  # sample: the weights do not match; resume: does not match its config
    raise ValueError(kind)


HOSTILE = [
    "code-in-torch-save", "code-in-plain-pickle", "truncated", "random-bytes", "empty", "plain-state-dict", "future-format",
    "wrong-types", "mismatched-weights",
]


@pytest.mark.parametrize("kind", HOSTILE)
def test_gan_sample_refuses_a_hostile_or_broken_checkpoint_with_one_message(tmp_path: Path, good_run: Path, kind: str) -> None:
    marker = tmp_path / "code-ran"
    bad = tmp_path / "bad.pt"
    phrase = make_hostile(kind, bad, good_run / "checkpoints" / "last.pt", marker)
    message = one_clean_error(gan("sample", "--ckpt", bad, "--out", tmp_path / "s.npy"))
    assert phrase in message and str(bad) in message
    if kind == "mismatched-weights":  # which tensor, and its shapes: torch's heading alone said nothing
        assert "Generator: size mismatch for " in message and "torch.Size([3, 3]) from checkpoint" in message
    assert not marker.exists(), "loading the checkpoint ran code from it"
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("kind", HOSTILE)
def test_resume_refuses_a_hostile_or_broken_last_pt_and_writes_nothing(tmp_path: Path, good_run: Path, kind: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    marker = tmp_path / "code-ran"
    phrase = make_hostile(kind, run / "checkpoints" / "last.pt", good_run / "checkpoints" / "last.pt", marker)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    message = one_clean_error(gan("train", "--resume", run, "--set", "train.steps=8"))
    assert phrase in message
    assert not marker.exists(), "loading the checkpoint ran code from it"
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before, "the run directory was not touched"


def test_temp_files_are_never_taken_for_checkpoints(tmp_path: Path, good_run: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    ckdir = run / "checkpoints"
    (ckdir / ".last.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    (ckdir / ".step_0000009.pt.link").write_bytes(b"")
    for f in ckdir.glob("*.pt"):
        f.unlink()
    assert RunDir(run).step_checkpoints() == []
    message = one_clean_error(gan("sample", "--ckpt", run))
    assert "has no checkpoints/last.pt" in message
    assert sorted(p.name for p in RunDir(run).remove_stale_temps()) == [".last.pt.abc123.tmp", ".step_0000009.pt.link"]


@pytest.mark.parametrize("command", ["sample", "eval", "resume"])
def test_a_fifo_or_a_dangling_link_for_a_checkpoint_is_one_message_not_a_hang(tmp_path: Path, good_run: Path, command: str) -> None:
    """Opening a FIFO for reading waits for a writer forever: the kind of entry is named instead."""
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    last = run / "checkpoints" / "last.pt"
    last.unlink()
    os.mkfifo(last)
    args = ("train", "--resume", run) if command == "resume" else (command, "--ckpt", run)
    before = sorted(p.name for p in run.rglob("*"))
    assert "last.pt is not a checkpoint file: it is a FIFO (named pipe)" in one_clean_error(gan(*args))
    assert sorted(p.name for p in run.rglob("*")) == before
    if command != "resume":
        assert "it is a FIFO" in one_clean_error(gan(command, "--ckpt", last))
        (tmp_path / "gone.pt").symlink_to(tmp_path / "missing.pt")
        assert "a link to a missing file" in one_clean_error(gan(command, "--ckpt", tmp_path / "gone.pt"))


# ---------------------------------------------------------------- hostile inputs: disk full, unwritable directories


def twelve_steps(tmp_path: Path) -> Path:
    """12 steps, a row every 2 and a checkpoint every 4."""
    cfg = toy_config(train={**toy_config()["train"], "steps": 12}, log={**toy_config()["log"], "every": 2, "checkpoint_every": 4})
    return write_config(tmp_path / "twelve.yaml", cfg)


def fail_checkpoint_writes(monkeypatch: pytest.MonkeyPatch, error: int, after: int) -> None:
    """os.write into files under checkpoints/ fails with `error` once `after` checkpoints were written."""
    real_write, seen = os.write, set()

    def write(fd: int, data: Any) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if "/checkpoints/" in target:
            seen.add(target)  # each checkpoint goes to a fresh temp file
            if len(seen) > after:
                real_write(fd, bytes(data[: len(data) // 3]))  # part of it lands, as on a real full disk
                raise OSError(error, os.strerror(error))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell checkpoint files apart")
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES, errno.EROFS], ids=["ENOSPC", "EACCES", "EROFS"])
def test_a_failing_checkpoint_write_is_one_message_and_the_last_good_checkpoint_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    fail_checkpoint_writes(monkeypatch, error, after=1)
    run = tmp_path / "run"
    message = one_clean_error(gan("train", twelve_steps(tmp_path), "--out", run))
    assert f"writing to {run} failed: {os.strerror(error)}" in message
    assert f"the last good checkpoint is {run / 'checkpoints' / 'last.pt'}" in message
    monkeypatch.undo()
    assert checkpoint.load(run)["step"] == 4, "the failed write at step 8 left the step-4 checkpoint"
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")] == [], "no temp file left"


def test_resume_into_an_unwritable_run_directory_is_one_message_and_keeps_last_pt(tmp_path: Path, good_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a read-only directory does for a normal user (root writes through permissions, so simulate it)."""
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    real_write_text = Path.write_text

    def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
        if run in self.parents:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    message = one_clean_error(gan("train", "--resume", run, "--set", "train.steps=8"))
    assert f"cannot write the run directory {run}: Permission denied" in message
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions; simulated in the test above")
def test_a_read_only_run_directory_on_resume_keeps_last_pt(tmp_path: Path, good_run: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    before = (run / "checkpoints" / "last.pt").read_bytes()
    for p in (run, run / "checkpoints"):
        p.chmod(0o555)
    try:
        message = one_clean_error(gan("train", "--resume", run, "--set", "train.steps=8"))
        assert "Permission denied" in message
    finally:
        for p in (run, run / "checkpoints"):
            p.chmod(0o755)
    assert (run / "checkpoints" / "last.pt").read_bytes() == before


# ---------------------------------------------------------------- fuzz: any bytes in a checkpoint load or fail cleanly


# Property: whatever bytes stand in a file the tool reads (npz data, gzip IDX, images, checkpoints),
# loading it gives data, or one GanError naming the file; never another exception.


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


WORKDIR = Path(tempfile.mkdtemp(prefix="gan-file-fuzz-"))


def _valid_gz_idx() -> bytes:
    path = write_idx(WORKDIR / "seed-idx", np.zeros((30, 4, 4), np.uint8), gz=True)
    return path.read_bytes()


def _valid_checkpoint() -> bytes:
    buf = io.BytesIO()
    torch.save(checkpoint.make_checkpoint(step=1, config={}, generator={"w": torch.zeros(2)}, discriminator={"w": torch.zeros(2)}), buf)
    return buf.getvalue()


@FUZZ
@given(file_mutations(_valid_checkpoint()))
def test_checkpoint_bytes(content: bytes) -> None:
    path = WORKDIR / "c.pt"
    path.write_bytes(content)
    loads_or_one_error(lambda: checkpoint.load(path), path)


def test_the_seeds_are_valid_files() -> None:
    """The mutations start from files that load, so the properties test damage, not only garbage."""
    assert gzip.decompress(_valid_gz_idx())[:3] == b"\x00\x00\x08"
    path = WORKDIR / "ok.pt"
    path.write_bytes(_valid_checkpoint())
    assert checkpoint.load(path)["step"] == 1


# ---------------------------------------------------------------- non-finite weights


@pytest.mark.parametrize("net", ["generator", "discriminator"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused(tmp_path: Path, net: str, bad: float) -> None:
    weights = {"w": torch.zeros(3, 3), "b": torch.zeros(3), "steps": torch.tensor(4)}
    broken = {**weights, "b": torch.tensor([0.0, bad, 0.0])}
    ckpt = checkpoint.make_checkpoint(step=4, config={}, generator=weights, discriminator=weights)
    ckpt[net] = broken
    path = tmp_path / "last.pt"
    torch.save(ckpt, path)
    with pytest.raises(GanError, match=f"the {net}'s weights hold NaN or inf \\(b\\)"):
        checkpoint.load(path)


def test_a_checkpoint_larger_than_the_memory_available_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.load reads every tensor into memory: a file past the memory available would swap or
    # wake the OOM killer (SIGKILL, no message) rather than fail
    cfg = write_config(tmp_path / "c.yaml", toy_config())
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    size = last.stat().st_size
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: size + 1)
    assert checkpoint.load(last)["step"] > 0, "the positive control: a file that fits loads"
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: size - 1)
    with pytest.raises(GanError, match="loading this checkpoint: needs about .* of memory"):
        checkpoint.load(last)
    message = one_clean_error(gan("sample", "--ckpt", tmp_path / "run", "-n", "4", "--out", tmp_path / "s.npy"))
    assert "loading this checkpoint" in message and not (tmp_path / "s.npy").exists()
