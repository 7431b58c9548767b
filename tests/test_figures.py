"""The plot commands write real pictures from tiny runs: curves, Figure 1, Figures 2 and 3."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from gan_cli import runlog, toy
from gan_cli.cli import app
from gan_cli.config import from_dict
from gan_cli.evaluate import density, distances
from gan_cli.figures import paper_grids as figures

torch.set_num_threads(1)
runner = CliRunner()


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _train(tmp_path: Path, name: str, cfg: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / name
    res = _invoke("train", path, "--out", out, "--device", "cpu")
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def run_1d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = {
        "name": "fig1", "seed": 0, "device": "cpu",
        "data": {"name": "gaussian", "mean": 1.0, "std": 0.5, "train_size": 256, "held_out_size": 128},
        "noise": {"dim": 1, "prior": "uniform", "scale": 1.0},
        "generator": {"hidden": [{"units": 8}]},
        "discriminator": {"hidden": [{"units": 8}]},
        "train": {"batch_size": 32, "steps": 24, "optimizer": {"name": "adam", "lr": 0.001}},
        "log": {"every": 4, "samples_every": 100, "checkpoint_every": 6, "keep": 5},
    }
    return _train(tmp_path_factory.mktemp("r1d"), "fig1", cfg)


@pytest.fixture(scope="module")
def run_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = {
        "name": "dig", "seed": 0, "device": "cpu",
        "data": {"name": "digits"},
        "noise": {"dim": 4},
        "generator": {"hidden": [{"units": 16}], "output_activation": "sigmoid"},
        "discriminator": {"hidden": [{"units": 16}]},
        "train": {"batch_size": 32, "steps": 3, "optimizer": {"name": "adam", "lr": 0.001}},
        "log": {"every": 1, "samples_every": 100, "checkpoint_every": 100},
    }
    return _train(tmp_path_factory.mktemp("rdig"), "dig", cfg)


def _png(path: Path) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 0
    return np.asarray(Image.open(path).convert("RGB"))


# ---------------------------------------------------------------- curves


def test_plot_curves_reads_a_file_still_being_written(run_1d: Path, tmp_path: Path) -> None:
    metrics = run_1d / "metrics.jsonl"
    original = metrics.read_text()
    try:
        with open(metrics, "a") as fh:
            fh.write('{"step": 28, "value": -1.3')  # training is writing this line right now
        assert len(runlog.read_rows(metrics)) == len(original.splitlines())
        res = _invoke("plot", "curves", run_1d, "--out", tmp_path / "c.png")
        assert res.exit_code == 0, res.output
        img = _png(tmp_path / "c.png")
        assert img.shape[0] > 200 and img.std() > 0
    finally:
        metrics.write_text(original)


def test_plot_curves_errors_are_one_line(tmp_path: Path) -> None:
    res = _invoke("plot", "curves", tmp_path, "--out", tmp_path / "c.png")
    assert res.exit_code == 1 and "metrics.jsonl" in res.output and "Traceback" not in res.output
    (tmp_path / "metrics.jsonl").write_text('{"ste')
    res = _invoke("plot", "curves", tmp_path, "--out", tmp_path / "c.png")
    assert res.exit_code == 1 and "no complete row" in res.output
    assert not (tmp_path / "c.png").exists()


# ---------------------------------------------------------------- Figure 1


def test_plot_figure1_writes_four_panels_and_reports_jsd(run_1d: Path, tmp_path: Path) -> None:
    res = _invoke("plot", "figure1", "--ckpt", run_1d, "--out", tmp_path / "f1.png")
    assert res.exit_code == 0, res.output
    assert "JSD" in res.output and "max |D - 1/2|" in res.output
    img = _png(tmp_path / "f1.png")
    assert img.shape[1] > 2 * img.shape[0]  # four panels side by side
    # p_g is drawn in pure green, D in pure blue
    assert ((img[:, :, 1] > 100) & (img[:, :, 0] < 50) & (img[:, :, 2] < 50)).any()
    assert ((img[:, :, 2] > 200) & (img[:, :, 0] < 50) & (img[:, :, 1] < 50)).any()


def test_plot_figure1_refuses_image_runs(run_digits: Path, tmp_path: Path) -> None:
    res = _invoke("plot", "figure1", "--ckpt", run_digits, "--out", tmp_path / "f1.png")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert not (tmp_path / "f1.png").exists()


def test_diagnostics_of_the_exact_inverse_cdf_generator() -> None:
    target = toy.gaussian(4.0, 0.5)

    class InverseCdf(torch.nn.Module):  # x = 4 + 0.5 * Phi^-1((z + 1) / 2): p_g = p_data exactly
        def __init__(self) -> None:
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return 4.0 + 0.5 * torch.special.ndtri(((z + 1) / 2).double().clamp(1e-9, 1 - 1e-9)).float()

    half = density.diagnostics(InverseCdf(), lambda x: np.full(len(x), 0.5), target, "uniform", 1.0)
    assert half["jsd"] < 2e-4 and half["max_abs_d_minus_half"] == 0.0


def test_diagnostics_see_a_wrong_generator() -> None:
    target = toy.gaussian(4.0, 0.5)
    G = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(0.5)
        G.bias.fill_(4.0)  # U(3.5, 4.5): too narrow
    out = density.diagnostics(G, lambda x: 1 / (1 + np.exp(-(np.asarray(x) - 4.0))), target, "uniform", 1.0)
    assert 0.05 < out["jsd"] < math.log(2)
    assert out["max_abs_d_minus_half"] == pytest.approx(1 / (1 + math.exp(-1.5)) - 0.5, abs=1e-2)


# ---------------------------------------------------------------- Figures 2 and 3


def test_nearest_rows_matches_brute_force() -> None:
    gen = torch.Generator().manual_seed(0)
    train = torch.rand(300, 16, generator=gen)
    q = torch.rand(7, 16, generator=gen)
    brute = torch.cdist(q.double(), train.double()).argmin(1)
    assert torch.equal(distances.nearest(q, train, chunk=64)[1], brute)


def test_sample_nearest_draws_the_nearest_training_example_outlined(run_digits: Path, tmp_path: Path) -> None:
    res = _invoke("sample", "--ckpt", run_digits, "--nearest", "-n", 12, "--cols", 4, "--out", tmp_path / "f2.png")
    assert res.exit_code == 0, res.output
    img = _png(tmp_path / "f2.png")
    yellow = (img[:, :, 0] > 200) & (img[:, :, 1] > 180) & (img[:, :, 2] < 60)
    cols = np.nonzero(yellow.any(0))[0]
    assert len(cols) and cols.min() > img.shape[1] * 0.7  # only around the rightmost column
    assert yellow.any(1).sum() > img.shape[0] * 0.8  # on every row


def test_interpolation_rows_are_straight_lines_in_z() -> None:
    cfg = from_dict({"noise": {"dim": 5}, "train": {"steps": 1}})
    z = figures.interpolation_noise(3, 6, cfg, seed=1).view(3, 6, 5)
    steps = z[:, 1:] - z[:, :-1]
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-6)
    assert not torch.allclose(z[0, 0], z[1, 0])


def test_sample_interpolate_and_errors(run_digits: Path, run_1d: Path, tmp_path: Path) -> None:
    res = _invoke("sample", "--ckpt", run_digits, "--interpolate", "-n", 20, "--cols", 5, "--out", tmp_path / "f3.png")
    assert res.exit_code == 0, res.output
    img = _png(tmp_path / "f3.png")
    assert img.shape[1] > img.shape[0]  # 4 rows of 5
    res = _invoke("sample", "--ckpt", run_1d, "--interpolate", "--out", tmp_path / "x.png")
    assert res.exit_code == 1 and "images" in res.output and not (tmp_path / "x.png").exists()
    res = _invoke("sample", "--ckpt", run_digits, "--interpolate", "--nearest", "--out", tmp_path / "x.png")
    assert res.exit_code == 1 and "one of them" in res.output
