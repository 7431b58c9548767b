"""gan_cli/training/preflight.py, check_disk and checkpoint_bytes: a checkpoint that the disk or the file-size limit
(`ulimit -f`) cannot take is refused before the first step, where training ran until its first
checkpoint and then stopped with nothing saved; checkpoints the run keeps that would outgrow the
disk are one warning. checkpoint_bytes is a lower bound within a few KB of the real file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import child_env, gan, tiny_toy_config, write_config

from gan_cli import checkpoint, config, data
from gan_cli.training.loop import Trainer
from gan_cli.training.preflight import checkpoint_bytes, parameter_counts, training_bytes


def test_saved_bytes_is_the_size_torch_save_writes(tmp_path: Path) -> None:
    t = torch.zeros(1000)
    state = {"a": t, "view": t[:5], "nested": [{"b": torch.zeros(3, dtype=torch.float64)}], "n": 7}
    checkpoint.atomic_save(state, tmp_path / "x.pt")
    assert checkpoint.saved_bytes(state) == (tmp_path / "x.pt").stat().st_size


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_estimate_is_a_lower_bound_within_a_few_kb_of_the_file(tmp_path: Path, optimizer: str) -> None:
    raw = tiny_toy_config(train={"steps": 4, "optimizer": {"name": optimizer, "lr": 0.01}})
    cfg = config.from_dict(raw)
    trainer = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    estimate = checkpoint_bytes(cfg, trainer)
    run = tmp_path / "run"
    assert gan("train", write_config(tmp_path / "c.yaml", raw), "--out", run).exit_code == 0
    real = (run / "checkpoints" / "last.pt").stat().st_size
    # what the estimate leaves out: Adam's step counters and the file's record of each state tensor
    assert estimate <= real < estimate + 10_000, (estimate, real)


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_disk_without_room_for_one_checkpoint_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    monkeypatch.setattr("gan_cli.outputs.free_bytes", lambda path: 10_000)
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"--out {tmp_path / 'run'}: a checkpoint of this run takes about" in result.stderr
    assert "its disk has 10.0 KB free" in result.stderr
    assert not (tmp_path / "run").exists(), "no step trained, no run directory"


def test_a_disk_that_the_kept_checkpoints_would_fill_is_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tiny_toy_config()
    cfg = config.from_dict(raw)
    one = checkpoint_bytes(cfg, Trainer(cfg, data.load(cfg), torch.device("cpu")))
    monkeypatch.setattr("gan_cli.outputs.free_bytes", lambda path: 2 * one)  # room for two, not keep + 2
    result = gan("train", write_config(tmp_path / "c.yaml", raw), "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning: the run keeps up to") == 1
    assert f"(log.keep {cfg.log.keep}, last.pt, best.pt)" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_file_size_limit_below_one_checkpoint_is_refused_before_training(tmp_path: Path) -> None:
    """`ulimit -f` (RLIMIT_FSIZE) below a checkpoint: the first checkpoint's write failed with EFBIG."""
    import resource

    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))

    done = subprocess.run(
        [sys.executable, "-m", "gan_cli", "train", str(cfg), "--out", str(tmp_path / "run")],
        env=child_env(), capture_output=True, text=True, timeout=300, preexec_fn=limit,
    )
    assert done.returncode == 1, done.stderr
    assert "past this shell's file-size limit of 20.0 KB (ulimit -f)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- the nets' memory, before they exist


def held_bytes(trainer: Trainer) -> int:
    """Bytes of every float tensor the trainer's nets hold after a step: weights, gradients, the
    optimizers' state, the average of G's weights."""
    tensors = [p for net in (trainer.G, trainer.D) for p in net.parameters()]
    tensors += [p.grad for p in tensors if p.grad is not None]
    for opt in (trainer.opt_g, trainer.opt_d):
        tensors += [t for state in opt.state.values() for t in state.values() if torch.is_tensor(t) and t.dim() > 0]
    if trainer.ema is not None:
        tensors += list(trainer.ema.average.parameters())
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.parametrize(
    ("optimizer", "ema"),
    [("adam", None), ("adam", {"decay": 0.999}), ("sgd", None)],
    ids=["adam", "adam+ema", "sgd"],
)
def test_training_bytes_are_the_tensors_the_nets_hold_once_they_train(optimizer: str, ema: dict[str, float] | None) -> None:
    train = {"steps": 4, "optimizer": {"name": optimizer, "lr": 0.01}, "ema": ema or {"decay": None}}
    cfg = config.from_dict(tiny_toy_config(train=train))
    trainer = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    trainer.train_step()
    counts = parameter_counts(cfg, 1)
    assert training_bytes(cfg, counts) == held_bytes(trainer)


def test_the_papers_mnist_nets_with_adam_hold_59_8_mb() -> None:
    cfg = config.load(Path(__file__).parent.parent / "configs" / "mnist_fast.yaml", ["train.ema.decay=null"])
    counts = parameter_counts(cfg, 784)
    assert counts == (2_503_984, 1_231_441)
    assert training_bytes(cfg, counts) == 4 * 4 * (2_503_984 + 1_231_441) == 59_766_800
