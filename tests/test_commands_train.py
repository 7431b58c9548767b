"""`gan train` (gan_cli/commands/train.py): dry runs, end to end runs, option extremes, the resume hint,
and interrupts of training.

Interrupts: signals on a real `gan train` child process: SIGINT/SIGTERM checkpoint and exit 130, a second
signal exits at once, and SIGKILL at any moment of a checkpoint write leaves last.pt loadable.

Every wait is bounded and event-driven: the tests read the child's output line by line (a training
row, or a line printed by an instrumented write) instead of sleeping.
"""

from __future__ import annotations

import json
import math
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from helpers import write_exp
from helpers import refused, train_error
from helpers import check_run_dir
from helpers import (
    CONFIGS,
    REPO,
    Child,
    gan,
    is_step_line,
    metrics_rows,
    one_clean_error,
    piped_to_head,
    tiny_toy_config,
    toy_config,
    write_config,
)
from PIL import Image
from typer.testing import CliRunner

from gan_cli import checkpoint, run_dir, runlog
from gan_cli.cli import app
from gan_cli.run_dir import RunDir
from gan_cli.devices import human_bytes
import stat
import subprocess
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
import traceback
from helpers import REPO, gan, tiny_toy_config, write_config

runner = CliRunner()


# ---------------------------------------------------------------- interrupts of training (slow: child processes)

LONG = 1_000_000  # steps: far more than a test ever lets run


def long_config(tmp_path: Path, **log: int) -> Path:
    cfg = toy_config(train={**toy_config()["train"], "steps": LONG}, log={**toy_config()["log"], "every": 1, **log})
    return write_config(tmp_path / "long.yaml", cfg)


def checkpoint_files(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGXCPU, signal.SIGUSR1, signal.SIGUSR2],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGXCPU", "SIGUSR1", "SIGUSR2"],
)
def test_a_signal_checkpoints_prints_the_resume_command_and_exits_130(tmp_path: Path, sig: signal.Signals) -> None:
    run = tmp_path / "run"
    # a terminal's child: SIGHUP at its default (under nohup, as a CI runner may start the suite, it
    # is inherited ignored, and gan keeps ignoring it on purpose); SIGUSR1 and SIGUSR2 (a batch
    # scheduler's warning before the end of a job) likewise, whatever the suite inherited
    terminal = "import signal\nfor s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):\n    signal.signal(s, signal.SIG_DFL)"
    child = Child(["train", str(long_config(tmp_path)), "--out", str(run)], cwd=tmp_path, prelude=terminal)
    try:
        child.wait_for_line(is_step_line)  # training is under way: the first metrics row is out
        child.signal(sig)
        assert child.wait(timeout=120) == 130
    finally:
        child.kill()
    check_stopped_and_resumed(run, child.stderr(), f"interrupted by {sig.name}")


@pytest.mark.slow
def test_a_cpu_time_limit_checkpoints_and_exits_130(tmp_path: Path) -> None:
    """A real RLIMIT_CPU soft limit (`ulimit -S -t`, a batch scheduler's s_cpu): the kernel sends
    SIGXCPU at it and again every CPU second after; its default action killed the run without a
    checkpoint. The repeats must not count as the second signal that exits at once."""
    run = tmp_path / "run"
    limit = textwrap.dedent(
        """
        import resource
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime)
        resource.setrlimit(resource.RLIMIT_CPU, (spent + 12, spent + 120))  # 12 CPU s: imports, then training
        """
    )
    child = Child(["train", str(long_config(tmp_path)), "--out", str(run)], cwd=tmp_path, prelude=limit)
    try:
        child.wait_for_line(is_step_line)
        assert child.wait(timeout=300) == 130
    finally:
        child.kill()
    assert "interrupted again" not in child.stderr()
    check_stopped_and_resumed(run, child.stderr(), "interrupted by SIGXCPU")


def check_stopped_and_resumed(run: Path, err: str, why: str, first_row: int = 1) -> None:
    """A run stopped mid-training said `why`, wrote a checkpoint at or after its last metrics row and
    printed the resume command, which continues it with no step missing or repeated."""
    last = run / "checkpoints" / "last.pt"
    assert f"{why}: checkpoint written to {last}" in err
    assert f"resume with: gan train --resume {run}" in err
    assert "Traceback" not in err and "Exception ignored" not in err
    step = checkpoint.load(last)["step"]
    logged = [r["step"] for r in metrics_rows(run)]
    assert first_row <= logged[-1] <= step < LONG, "the checkpoint is at or after the last row, long before the budget"

    # the printed command continues the run (with a small budget so the test ends)
    result = runner.invoke(app, ["train", "--resume", str(run), "--set", f"train.steps={step + 2}"])
    assert result.exit_code == 0, result.output
    assert [r["step"] for r in metrics_rows(run)] == list(range(1, step + 3)), "no duplicated or missing step"


@pytest.mark.slow
def test_a_closed_standard_output_checkpoints_and_stops_like_a_signal(tmp_path: Path) -> None:
    # `gan train ... | head -n 4`: head leaves after the banner and two rows, and the next row meets a
    # pipe with no reader. Python ignores SIGPIPE, so that print raised BrokenPipeError: click exited
    # 1 without a word and every step since the last checkpoint was lost (here: all of them)
    run = tmp_path / "run"
    code, shown, err = piped_to_head(["train", str(long_config(tmp_path)), "--out", str(run)], 4, cwd=tmp_path)
    assert shown.splitlines()[0] == f"gan train: run directory {run}"
    assert code == 130, err
    # metrics.jsonl goes on past the rows head showed, up to the checkpoint
    check_stopped_and_resumed(run, err, "stopped: standard output was closed (its reader exited)", first_row=2)

    # `2>&1 | head`: the stop's own message meets the closed pipe too (click then exited 1)
    again = tmp_path / "again"
    code, _, _ = piped_to_head(["train", str(long_config(tmp_path)), "--out", str(again)], 4, cwd=tmp_path, with_stderr=True)
    assert code == 130
    assert checkpoint.load(again / "checkpoints" / "last.pt")["step"] >= 2


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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_ctrl_c_before_training_starts_exits_130_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted_load(cfg: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("gan_cli.commands.train.data.load", interrupted_load)
    result = runner.invoke(app, ["train", str(long_config(tmp_path)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 130
    assert "interrupted before training started; no checkpoint was written" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


# ---------------------------------------------------------------- dry runs


def own_data(root: Path, config_name: str) -> Path:
    images = np.random.default_rng(0).integers(0, 256, (200, 1, 8, 8)).astype(np.uint8)
    if config_name == "own_npz.yaml":
        np.savez(root / "own.npz", x=images, y=np.arange(200) % 4)
        return root / "own.npz"
    from PIL import Image

    for i, image in enumerate(images):
        (root / "own" / f"class{i % 4}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0]).save(root / "own" / f"class{i % 4}" / f"{i:03d}.png")
    return root / "own"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_dry_runs(path: Path, tiny_mnist_root: Path) -> None:
    extra = ["--set", f"data.root={tiny_mnist_root}", "--set", "data.train_range=[0, 100]", "--set", "data.valid_range=[100, 120]"] if "mnist" in path.name else []
    if path.name.startswith("own_"):  # your own data: a tiny npz file or image folder in its place
        extra = ["--set", f"data.path={own_data(tiny_mnist_root.parent, path.name)}"]
    result = gan("train", path, "--dry-run", "--device", "cpu", *extra)
    assert result.exit_code == 0, result.output
    assert "# generator parameters:" in result.output and "# discriminator parameters:" in result.output
    assert "train:" in result.output, "prints the resolved config"


def test_paper_mnist_parameter_counts_in_dry_run(tiny_mnist_root: Path) -> None:
    result = gan("train", CONFIGS / "mnist.yaml", "--dry-run", "--device", "cpu", "--set", f"data.root={tiny_mnist_root}",
                 "--set", "data.train_range=[0, 100]", "--set", "data.valid_range=[100, 120]")
    g = 100 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 784 + 784
    d = 784 * 1200 + 1200 + 240 * 1200 + 1200 + 240 + 1
    assert f"# generator parameters: {g:,}" in result.output
    assert f"# discriminator parameters: {d:,}" in result.output
    # the paper's SGD: float32 weights, gradients and velocities
    assert f"# the nets' training state: about {human_bytes(3 * 4 * (g + d))} (weights," in result.output


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("finished")
    cfg = write_config(tmp / "c.yaml", toy_config(train={"steps": 4}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8}))
    assert gan("train", cfg, "--out", tmp / "run").exit_code == 0
    return tmp / "run"


def test_dry_run_prints_the_device_chosen(tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", toy_config(device="auto", train={"steps": 4}))
    result = gan("train", tmp_path / "c.yaml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "device: auto" not in result.stdout
    assert "device: cpu" in result.stdout or "device: cuda" in result.stdout or "device: mps" in result.stdout


def test_dry_run_refuses_an_out_the_real_run_would_refuse(finished: Path, tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", toy_config(train={"steps": 4}))
    assert "exists and is not empty" in one_clean_error(gan("train", tmp_path / "c.yaml", "--out", finished, "--dry-run"))


def test_dry_run_prints_config_and_parameter_counts_before_missing_data(tmp_path: Path) -> None:
    cfg = tiny_toy_config(
        data={"name": "mnist", "root": str(tmp_path / "nowhere"), "download": False},
        generator={"output_activation": "sigmoid", "hidden": [{"units": 8, "activation": "relu"}]},
    )
    write_config(tmp_path / "c.yaml", cfg)
    result = gan("train", tmp_path / "c.yaml", "--dry-run")
    assert "mnist files not found" in one_clean_error(result)
    assert "# generator parameters:" in result.stdout and "name: mnist" in result.stdout


# ---------------------------------------------------------------- end to end


def test_2d_ring_round_trip(tmp_path: Path) -> None:
    raw = tiny_toy_config(data={"name": "ring", "train_size": 256, "held_out_size": 64}, noise={"dim": 2})
    run = tmp_path / "run"
    assert gan("train", write_exp(tmp_path, raw), "--out", run).exit_code == 0
    check_run_dir(run, 12)
    assert gan("sample", "--ckpt", run, "-n", "200", "--out", tmp_path / "ring.png").exit_code == 0


def test_digits_train_then_sample_round_trip(tmp_path: Path) -> None:
    raw = tiny_toy_config(
        data={"name": "digits"},
        noise={"dim": 8},
        generator={"hidden": [{"units": 32}], "output_activation": "sigmoid", "output_bias": "marginals"},
        discriminator={"hidden": [{"units": 16, "activation": "maxout", "pieces": 2, "dropout": 0.2}], "output_dropout": 0.5},
        train={"steps": 8, "update": "simultaneous", "d_loss_scale": 0.5,
               "optimizer": {"name": "sgd", "lr": 0.1, "lr_schedule": {"name": "exponential"}, "momentum_schedule": {"name": "linear"}}},
        log={"every": 4, "samples_every": 8, "checkpoint_every": 8, "picture_samples": 25},
    )
    run = tmp_path / "run"
    result = gan("train", write_exp(tmp_path, raw), "--out", run)
    assert result.exit_code == 0, result.output
    rows = check_run_dir(run, 8)
    assert rows[0]["momentum"] == 0.5 and rows[0]["lr"] < 0.1
    with Image.open(run / "samples" / "step_0000008.png") as im:
        assert im.width >= 5 * 8
    assert (run / "samples" / "real.png").is_file(), "the data grid beside the samples"
    out = tmp_path / "grid.png"
    assert gan("sample", "--ckpt", run, "-n", "16", "--out", out).exit_code == 0
    assert out.stat().st_size > 100
    x = tmp_path / "x.npy"
    gan("sample", "--ckpt", run, "-n", "4", "--out", x)
    a = np.load(x)
    assert a.shape == (4, 64) and a.min() >= 0 and a.max() <= 1


def _tensorboard_events(tb: Path) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """(scalar tag -> steps, image tag -> steps) of every event file under `tb`, read back as TensorBoard does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, list[int]] = {}
    images: dict[str, list[int]] = {}
    for events in sorted(tb.glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"images": 0, "scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend(e.step for e in acc.Scalars(tag))
        for tag in acc.Tags()["images"]:
            images.setdefault(tag, []).extend(e.step for e in acc.Images(tag))
    return scalars, images


@pytest.mark.parametrize("data", ["toy", "digits"])
def test_tensorboard_logging(tmp_path: Path, data: str) -> None:
    """log.tensorboard: the metrics rows as scalars, each samples step's picture (a toy density panel
    or an image grid) and the training data as images, the selection signal at its step."""
    pytest.importorskip("tensorboard")
    sections: dict[str, Any] = {"log": {"tensorboard": True}, "select": {"every_epochs": 1, "kernels": 32, "valid_examples": 32}}
    if data == "digits":
        sections["data"] = {"name": "digits"}
        sections["generator"] = {"hidden": [{"units": 8, "activation": "relu"}], "output_activation": "sigmoid"}
        sections["data"]["train_range"] = [0, 384]  # 12 steps of 32: one epoch, so one selection check
        sections["train"] = {"batch_size": 32, "steps": 12, "optimizer": {"name": "adam", "lr": 0.001}}
    cfg = write_exp(tmp_path, tiny_toy_config(**sections))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    run = RunDir(tmp_path / "run")
    scalars, images = _tensorboard_events(run.tensorboard)
    assert scalars["value"] == [4, 8, 12] and "d_real" in scalars, scalars
    assert images["samples/fixed_noise"] == [6, 12], images
    assert ("samples/real" in images) == (data == "digits")  # the training-data grid exists for images only
    selected = [row["step"] for row in runlog.read_rows(run.selection)]
    assert selected and scalars["selection/valid_parzen"] == selected and "selection/sigma" in scalars


def test_tensorboard_is_imported_only_when_on(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from gan_cli.commands.train import train; "
        "from gan_cli.training.options import TrainOptions; "
        f"train(TrainOptions(config=Path({str(write_exp(tmp_path, tiny_toy_config()))!r}), out=Path({str(tmp_path / 'run')!r}))); "
        "assert not [m for m in sys.modules if m.startswith(('tensorboard', 'torch.utils.tensorboard'))], 'imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "run" / "tb").exists()


def test_tensorboard_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    cfg = write_exp(tmp_path, tiny_toy_config(log={"tensorboard": True}))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 1 and "pip install tensorboard" in result.output
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- hostile inputs: extremes and the resume hint


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, 10**30])
def test_train_seed_out_of_range(tmp_path: Path, seed: int) -> None:
    assert "seed: must be" in train_error(tmp_path, toy_config(train={"steps": 4}), "--seed", str(seed))


@pytest.mark.parametrize("nproc", [257, 2**64, 10**20])
def test_nproc_beyond_one_machine_is_one_message_before_any_process_starts(tmp_path: Path, nproc: int) -> None:
    assert "--nproc" in train_error(tmp_path, toy_config(train={"steps": 4}), "--nproc", str(nproc), "--dry-run")


def test_the_resume_hint_is_shell_quoted_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.training.run import Interrupted

    run = tmp_path / "my run; with spaces and a very long name that a terminal would otherwise wrap somewhere in the middle"
    ckpt = run / "checkpoints" / "last.pt"

    def interrupted(*args, **kwargs):
        raise Interrupted("SIGTERM", ckpt)

    monkeypatch.setattr("gan_cli.commands.train._prepare", interrupted)
    result = gan("train", tmp_path / "c.yaml")
    assert result.exit_code == 130
    hint = next(line for line in result.stderr.splitlines() if line.startswith("resume with: "))
    assert hint == f"resume with: gan train --resume {shlex.quote(str(run))}"
    assert shlex.split(hint.removeprefix("resume with: "))[-1] == str(run)


# ---- hostile inputs: out of memory, where the data lives


ALLOCATOR = "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried to allocate 31360000000 bytes."


def test_out_of_memory_building_the_nets_is_one_line_naming_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def too_big(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR)

    monkeypatch.setattr("gan_cli.training.ranks.Solo.trainer", too_big)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    message = one_clean_error(gan("train", cfg, "--out", tmp_path / "run"))
    assert "generator.hidden" in message and "31.4 GB" in message


@pytest.mark.parametrize(
    ("config", "n", "phrase"),
    [
        ("toy", 2_000_000, "a picture draws at most 1,000,000 samples"),
        ("digits", 100_000, "160,477,824 pixels"),  # 8x8 digits drawn at 4x with 2-pixel gaps
    ],
)
def test_a_picture_past_its_limits_is_refused_before_the_nets_exist(tmp_path: Path, config: str, n: int, phrase: str) -> None:
    # log.picture_samples fixes that many noise vectors when the trainer is built: 10^9 of them once
    # failed with an out-of-memory line blaming generator.hidden, and 10^8 toy points only warned
    # at the first picture, after allocating 51 GB
    cfg = CONFIGS / "digits.yaml" if config == "digits" else write_config(tmp_path / "c.yaml", tiny_toy_config())
    message = one_clean_error(gan("train", cfg, "--out", tmp_path / "run", "--set", f"log.picture_samples={n}"))
    assert message.startswith(f"error: log.picture_samples {n:,}: ") and phrase in message and "make it smaller" in message
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("sets", "phrase"),
    [
        (("select.every_epochs=1", "select.kernels=10000000"), "select.kernels 10,000,000 (beside the nets' 1.2 KB): needs about"),
        (("data.train_size=100000000",), "data.train_size 100,000,000 and data.held_out_size 128: needs about"),
        # 4 * 10^8 weights of G with their gradients and Adam's two moments: 6.4 GB, built
        # unchecked, where an allocation past the memory swaps or wakes the OOM killer
        (
            ("generator.hidden=[{units: 20000, activation: relu}, {units: 20000, activation: relu}]",),
            "the nets (400,",
        ),
    ],
)
def test_counts_past_the_memory_available_are_refused_before_the_first_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sets: tuple[str, ...], phrase: str
) -> None:
    # model selection's kernels were first drawn at the end of the first epoch (an out-of-memory
    # line that blamed the nets), and a toy train_size of 2*10^10 failed the same way at load
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 1_000_000_000)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    overrides = [arg for item in sets for arg in ("--set", item)]
    message = one_clean_error(gan("train", cfg, "--out", tmp_path / "run", *overrides))
    assert phrase in message and "1.0 GB is available" in message
    assert not (tmp_path / "run").exists()
    # the positive control: the same check passes the config's own counts
    assert gan("train", cfg, "--out", tmp_path / "ok", "--set", "select.every_epochs=1").exit_code == 0


def test_a_relative_data_root_is_stored_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(data={**tiny_toy_config()["data"], "root": "mydata"}))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["root"]
    assert stored == str(tmp_path / "mydata")
    monkeypatch.chdir(tmp_path / "run")  # resumed from elsewhere: the same data
    assert gan("train", "--resume", tmp_path / "run", "--set", "train.steps=16").exit_code == 0


# ---- the call path: gan train reaches d_loss.backward() in four calls


def test_gan_train_reaches_d_loss_backward_in_four_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stacks: list[list[traceback.FrameSummary]] = []
    backward = torch.Tensor.backward

    def recording(self: torch.Tensor, *args: object, **kwargs: object) -> None:
        if not stacks:
            stacks.append(traceback.extract_stack())
        backward(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.Tensor, "backward", recording)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(train={"batch_size": 32, "steps": 1, "optimizer": {"name": "adam", "lr": 0.001}}))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    frames = [(Path(f.filename).resolve(), f.name) for f in stacks[0]]
    package = REPO / "gan_cli"
    ours = [(p.relative_to(package).as_posix(), name) for p, name in frames if p.is_relative_to(package)]
    start = max(i for i, (path, name) in enumerate(ours) if (path, name) == ("cli.py", "train"))
    assert ours[start + 1 :] == [
        ("commands/train.py", "train"),
        ("training/run.py", "run"),
        ("training/loop.py", "train_step"),
        ("training/updates.py", "discriminator"),
    ], ours[start:]


def test_resume_of_a_run_with_another_out_says_what_to_give(tmp_path: Path) -> None:
    from helpers import one_clean_error

    other = tmp_path / "run"
    other.mkdir()
    message = one_clean_error(gan("train", "--resume", other, "--out", tmp_path / "elsewhere"))
    assert "give the run directory once" in message


def test_resume_of_a_missing_run_directory_names_it_as_one(tmp_path: Path) -> None:
    """It was reported as a missing config file, the positional argument's other meaning."""
    message = one_clean_error(gan("train", "--resume", tmp_path / "no-such-run"))
    assert message == f"error: --resume {tmp_path / 'no-such-run'}: no such run directory (give the folder the run was trained in)\n"
    assert "config file not found" in one_clean_error(gan("train", "--resume", tmp_path / "missing.yaml", "--out", tmp_path / "run"))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGUSR1], ids=["SIGHUP", "SIGUSR1"])
def test_a_stop_signal_inherited_ignored_stays_ignored(tmp_path: Path, sig: signal.Signals) -> None:
    """nohup starts a job with SIGHUP ignored so that it outlives its terminal: gan keeps it so, and
    SIGUSR1 or SIGUSR2 that whoever started it chose to ignore likewise."""
    run = tmp_path / "run"
    ignored = f"import signal\nsignal.signal({int(sig)}, signal.SIG_IGN)"
    child = Child(["train", str(long_config(tmp_path)), "--out", str(run)], cwd=tmp_path, prelude=ignored)
    try:
        child.wait_for_line(is_step_line)
        child.signal(sig)
        child.wait_for_line(is_step_line)  # still training after it
        assert child.proc.poll() is None
        child.signal(signal.SIGTERM)
        assert child.wait(timeout=120) == 130
    finally:
        child.kill()
