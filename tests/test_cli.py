"""End to end through the `gan` command (Typer's CliRunner): dry runs, train -> sample round trips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers import CONFIGS, tiny_toy_config
from PIL import Image
from typer.testing import CliRunner

from gan_cli.cli import app

runner = CliRunner()


def write_config(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw))
    return p


def gan(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


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


def _check_run_dir(run: Path, steps: int) -> list[dict]:
    for name in ("config.yaml", "command.txt", "metrics.jsonl", "checkpoints/last.pt"):
        assert (run / name).is_file(), name
    assert "torch" in (run / "command.txt").read_text() and "device cpu" in (run / "command.txt").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    keys = {"step", "epoch", "value", "d_real", "d_fake", "d_loss", "g_loss", "lr", "momentum", "samples_per_s", "time"}
    assert all(keys <= set(r) for r in rows)
    assert rows[-1]["step"] == steps
    for r in rows:
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
        assert r["value"] < 0 and math.isfinite(r["g_loss"])
    pngs = sorted((run / "samples").glob("step_*.png"))
    assert pngs and pngs[-1].name == f"step_{steps:07d}.png"
    with Image.open(pngs[-1]) as im:
        assert im.width > 50 and im.height > 50
        assert len(np.unique(np.asarray(im.convert("L")))) > 10, "the picture is not blank"
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == steps and ckpt["format_version"] == 2
    return rows


def test_toy_train_then_sample_round_trip(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, tiny_toy_config())
    run = tmp_path / "run"
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    assert "step" in result.output and "V " in result.output and "D(G(z))" in result.output
    rows = _check_run_dir(run, 12)
    assert [r["step"] for r in rows] == [4, 8, 12]
    out = tmp_path / "s.npy"
    assert gan("sample", "--ckpt", run, "-n", "50", "--seed", "3", "--out", out).exit_code == 0
    a = np.load(out)
    assert a.shape == (50, 1) and np.isfinite(a).all()
    assert gan("sample", "--ckpt", run / "checkpoints" / "last.pt", "-n", "50", "--seed", "3", "--out", tmp_path / "t.npy").exit_code == 0
    assert np.array_equal(a, np.load(tmp_path / "t.npy")), "--seed makes sampling repeatable"
    assert gan("sample", "--ckpt", run, "-n", "500", "--out", tmp_path / "p.png").exit_code == 0
    assert (tmp_path / "p.png").stat().st_size > 5000
    pt = tmp_path / "s.pt"
    assert gan("sample", "--ckpt", run, "-n", "7", "--out", pt).exit_code == 0
    assert torch.load(pt, weights_only=True).shape == (7, 1)


def test_2d_ring_round_trip(tmp_path: Path) -> None:
    raw = tiny_toy_config(data={"name": "ring", "train_size": 256, "held_out_size": 64}, noise={"dim": 2})
    run = tmp_path / "run"
    assert gan("train", write_config(tmp_path, raw), "--out", run).exit_code == 0
    _check_run_dir(run, 12)
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
    result = gan("train", write_config(tmp_path, raw), "--out", run)
    assert result.exit_code == 0, result.output
    rows = _check_run_dir(run, 8)
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


def test_non_empty_out_is_refused_without_resume(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, tiny_toy_config())
    run = tmp_path / "run"
    run.mkdir()
    (run / "precious.txt").write_text("x")
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 1 and "exists and is not empty" in result.output
    assert sorted(p.name for p in run.iterdir()) == ["precious.txt"]


def test_user_errors_exit_1_without_traceback_or_run_dir(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, tiny_toy_config(train={"steps": 3, "batch_size": 10_000}))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert "train.batch_size" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
    result = gan("train", tmp_path / "missing.yaml")
    assert result.exit_code == 1 and "config file not found" in result.output
    result = gan("train", cfg, "--set", "train.lr=1")
    assert result.exit_code == 1 and "did you mean 'train.optimizer.lr'" in result.output
    result = gan("sample", "--ckpt", tmp_path / "nothing")
    assert result.exit_code == 1 and "checkpoint not found" in result.output


def test_every_command_turns_gan_error_into_one_line_and_exit_1() -> None:
    """Each command goes through cli.user_errors; a new command without it would print a traceback."""
    from gan_cli.cli import plot_app, user_errors

    commands = [*app.registered_commands, *plot_app.registered_commands]
    assert len(commands) >= 6
    for command in commands:
        assert getattr(command.callback, "__wrapped__", None) is not None, command.callback.__name__
        assert command.callback.__code__ is user_errors(lambda: None).__code__, command.callback.__name__


def test_config_markdown_prints_the_whole_table() -> None:
    lines = gan("config", "--markdown").output.splitlines()
    assert lines[:2] == ["| key | default | meaning |", "|---|---|---|"]
    assert lines.count("| key | default | meaning |") == 1
    assert all(line.startswith("| `") and line.endswith(" |") for line in lines[2:])
    assert any(line.startswith("| `train.optimizer.lr` |") for line in lines)


def test_default_run_dir_uses_name_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path, tiny_toy_config(train={"steps": 2}))
    assert gan("train", cfg).exit_code == 0
    assert gan("train", cfg).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(r.startswith("tiny-") for r in runs)


def test_python_dash_m_entry_point() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "gan_cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("gan-cli ")


def test_tensorboard_logging(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    cfg = write_config(tmp_path, tiny_toy_config(log={"tensorboard": True}))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))


def test_tensorboard_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    cfg = write_config(tmp_path, tiny_toy_config(log={"tensorboard": True}))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 1 and "pip install tensorboard" in result.output
    assert not (tmp_path / "run").exists()


def test_quiet_reporter_prints_nothing_while_training(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from helpers import train_experiment
    from gan_cli.training.console import Reporter

    buffer = io.StringIO()
    cfg = write_config(tmp_path, tiny_toy_config())
    train_experiment(str(cfg), [], out=str(tmp_path / "run"), reporter=Reporter(Console(file=buffer), quiet=True))
    assert buffer.getvalue() == "" and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
