"""A picture must never stop training: data of any dimension is drawn, and a failing picture warns once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import tiny_toy_config
from PIL import Image

from gan_cli.run_dir import RunDir
from gan_cli import checkpoint
from helpers import train_experiment
from gan_cli.training.console import Reporter


def _write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("dim", [3, 5])
def test_mixture_of_three_or_more_dimensions_trains_checkpoints_and_draws(tmp_path: Path, dim: int) -> None:
    means = np.eye(dim)[:3].tolist()
    cfg = tiny_toy_config(data={"name": "mixture", "means": means, "std": 0.1, "train_size": 256, "held_out_size": 64})
    run = train_experiment(str(_write(tmp_path, cfg)), [], out=str(tmp_path / "run"), reporter=Reporter(quiet=True))
    assert (run / "checkpoints" / "last.pt").is_file()
    assert checkpoint.load(run)["step"] == 12
    picture = run / "samples" / "step_0000012.png"
    assert Image.open(picture).size[0] > 100


def test_npz_of_three_columns_is_drawn_on_principal_axes(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x)
    cfg = tiny_toy_config(data={"name": "npz", "path": str(tmp_path / "d.npz")})
    run = train_experiment(str(_write(tmp_path, cfg)), [], out=str(tmp_path / "run"), reporter=Reporter(quiet=True))
    assert (run / "samples" / "step_0000006.png").is_file() and (run / "checkpoints" / "last.pt").is_file()


def test_a_failing_picture_warns_once_and_every_checkpoint_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken_draw(*args, **kwargs):
        raise RuntimeError("the plotting library fell over")

    monkeypatch.setattr("gan_cli.training.hooks.draw", broken_draw)
    cfg = tiny_toy_config(log={"every": 4, "samples_every": 2, "checkpoint_every": 6, "keep": 5})
    run = train_experiment(str(_write(tmp_path, cfg)), [], out=str(tmp_path / "run"), reporter=Reporter(quiet=True))
    assert [s for s, _ in RunDir(run).step_checkpoints()] == [6, 12]
    err = capsys.readouterr().err
    assert err.count("could not draw the samples picture") == 1
    assert "the plotting library fell over" in err
