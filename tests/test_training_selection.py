"""Model selection on the validation Parzen signal: the number, the log, best.pt."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

from gan_cli import checkpoint, seeds
from gan_cli.run_dir import RunDir
from gan_cli.cli import app
from gan_cli.evaluate import parzen
from gan_cli.training import selection

torch.set_num_threads(1)
runner = CliRunner()


def _parzen_numpy(x: np.ndarray, mu: np.ndarray, sigma: float) -> float:
    """Mean Parzen log-likelihood straight from the formula, float64."""
    d = x.shape[1]
    sq = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    a = -sq / (2 * sigma**2)
    m = a.max(1, keepdims=True)
    lme = (m[:, 0] + np.log(np.exp(a - m).mean(1)))
    return float((lme - d * math.log(sigma * math.sqrt(2 * math.pi))).mean())


def test_validation_parzen_is_the_best_grid_mean_and_restores_train_mode() -> None:
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Dropout(0.5))
    G.train()
    noise = torch.randn(40, 3)
    valid = torch.randn(25, 5)
    sigmas = (0.3, 1.0, 3.0)
    rng_before = torch.get_rng_state()
    value, sigma = selection.validation_parzen(G, valid, noise, sigmas)
    assert torch.equal(torch.get_rng_state(), rng_before)  # eval mode: dropout drew nothing
    assert G.training
    G.eval()
    with torch.no_grad():
        mu = G(noise).numpy().astype(np.float64)
    expected = {s: _parzen_numpy(valid.numpy().astype(np.float64), mu, s) for s in sigmas}
    best = max(expected, key=expected.get)
    assert sigma == best
    assert value == __import__("pytest").approx(expected[best], abs=1e-4)


def test_read_best_skips_torn_lines_and_later_steps(tmp_path: Path) -> None:
    rows = [{"step": 10, "valid_parzen": -5.0}, {"step": 20, "valid_parzen": -2.0}, {"step": 30, "valid_parzen": -1.0}]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 40, "valid_par'
    (RunDir(tmp_path).selection).write_text(text)
    assert selection.read_best(tmp_path) == -1.0
    assert selection.read_best(tmp_path, up_to_step=25) == -2.0
    assert selection.read_best(tmp_path / "nowhere") is None


def _train(tmp_path: Path, *sets: str) -> Path:
    out = tmp_path / "run"
    args = [
        "train", "--out", str(out), "--device", "cpu",
        "--set", "name=sel", "--set", "data.name=gaussian", "--set", "data.train_size=256", "--set", "data.held_out_size=64",
        "--set", "noise.dim=1", "--set", "generator.hidden=[{units: 8}]", "--set", "discriminator.hidden=[{units: 8}]",
        "--set", "train.batch_size=64", "--set", "train.epochs=5", "--set", "log.every=4",
        "--set", "log.samples_every=1000", "--set", "log.checkpoint_every=1000", "--set", "select.kernels=50",
        *sets,
    ]
    # no config file: build one from the overrides alone
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: sel\n")
    res = runner.invoke(app, [args[0], str(cfg), *args[1:]], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def test_training_logs_each_epoch_and_keeps_the_best_checkpoint(tmp_path: Path) -> None:
    run = _train(tmp_path, "--set", "select.every_epochs=1")
    rows = [json.loads(line) for line in (run / "selection.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["step"] for r in rows] == [4, 8, 12, 16, 20]  # 256 examples / 64 per batch = 4 steps an epoch
    running = -math.inf
    for r in rows:
        assert r["best"] == (r["valid_parzen"] > running)
        running = max(running, r["valid_parzen"])
        assert r["sigma"] in parzen.PAPER_SIGMAS
    best_row = max(rows, key=lambda r: r["valid_parzen"])
    best = checkpoint.load(RunDir(run).best)
    assert best["step"] == best_row["step"]
    # the signal recomputed from best.pt's G is the logged one
    from gan_cli.sample import load_models

    loaded = load_models(RunDir(run).best, torch.device("cpu"))
    from gan_cli import data

    ds = data.load(loaded.cfg)
    gen = torch.Generator().manual_seed(seeds.run_seed(loaded.cfg.seed, loaded.cfg.seed_scheme, seeds.TRAIN_SELECTION_NOISE))
    from gan_cli import models

    noise = models.sample_noise(50, 1, loaded.cfg.noise.prior, loaded.cfg.noise.scale, torch.device("cpu"), gen)
    value, _ = selection.validation_parzen(loaded.G, ds.valid[:1000], noise)
    assert value == __import__("pytest").approx(best_row["valid_parzen"], abs=1e-6)


def test_every_n_epochs_and_off(tmp_path: Path) -> None:
    run = _train(tmp_path, "--set", "select.every_epochs=2")
    rows = [json.loads(line) for line in (run / "selection.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [2, 4]
    off = _train(tmp_path / "off")
    assert not (off / "selection.jsonl").exists()
    assert not (RunDir(off).best).exists()


def test_resume_forgets_checks_after_the_checkpoint(tmp_path: Path) -> None:
    run = _train(tmp_path, "--set", "select.every_epochs=1", "--set", "log.checkpoint_every=8")
    # pretend the run died after step 8's checkpoint: last.pt is step 8's
    import shutil

    ck = RunDir(run).checkpoints
    shutil.copy(ck / "step_0000008.pt", ck / "last.pt")
    res = runner.invoke(app, ["train", "--resume", str(run)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (run / "selection.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
