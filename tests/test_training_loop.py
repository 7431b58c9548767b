"""The training loop: Algorithm 1's update counts, the simultaneous scheme, determinism."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from helpers import tiny_toy_config

from gan_cli.run_dir import RunDir
from gan_cli import checkpoint, config, data, objectives
from gan_cli.training.loop import Trainer, budget_steps
from gan_cli.errors import GanError
from gan_cli.training.run import run


def make_trainer(**sections) -> Trainer:
    cfg = config.from_dict(tiny_toy_config(**sections))
    return Trainer(cfg, data.load(cfg), torch.device("cpu"))


def test_alternating_k3_does_exactly_three_d_updates_per_g_update(monkeypatch: pytest.MonkeyPatch) -> None:
    tr = make_trainer(train={"update": "alternating", "k": 3, "steps": 4})
    calls: list[str] = []
    d_step, g_step = tr.opt_d.step, tr.opt_g.step
    monkeypatch.setattr(tr.opt_d, "step", lambda *a, **k: (calls.append("D"), d_step())[1])
    monkeypatch.setattr(tr.opt_g, "step", lambda *a, **k: (calls.append("G"), g_step())[1])
    for _ in range(4):
        tr.train_step()
    assert "".join(calls) == "DDDG" * 4
    assert tr.d_updates == 12 and tr.step == 4
    assert tr.sampler.epoch * tr.sampler.batches_per_epoch + tr.sampler.position == 12, "each D step draws a fresh batch"


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_d_lr_scale_gives_d_the_scaled_lr_at_every_update_and_g_its_own(name: str) -> None:
    """Two time scales: D's lr is d_lr_scale times G's, its schedule included (here exponential
    by update count: D's count runs k times faster); the logged lr is G's."""
    schedule = {"name": "exponential", "decay": 1.5, "min_lr": 1e-9}
    optimizer = {"name": name, "lr": 0.01, "d_lr_scale": 4.0, "lr_schedule": schedule}
    tr = make_trainer(train={"update": "alternating", "k": 2, "steps": 3, "optimizer": optimizer})
    seen: list[tuple[float, float]] = []
    d_step = tr.opt_d.step
    for _ in range(3):
        tr.opt_d.step = lambda *a, **k: (seen.append((tr.opt_d.param_groups[0]["lr"], tr.opt_g.param_groups[0]["lr"])), d_step())[1]  # type: ignore[method-assign]
        tr.train_step()
    assert [d for d, _ in seen] == pytest.approx([0.04 / 1.5**t for t in range(6)])
    assert tr.opt_g.param_groups[0]["lr"] == pytest.approx(0.01 / 1.5**2) and tr.lr == pytest.approx(0.01 / 1.5**2)


def test_d_lr_scale_must_be_positive() -> None:
    with pytest.raises(GanError, match="train.optimizer.d_lr_scale"):
        make_trainer(train={"optimizer": {"d_lr_scale": 0}})


def test_simultaneous_takes_gs_gradient_from_ds_pre_update_parameters() -> None:
    tr = make_trainer(
        train={"update": "simultaneous", "steps": 1, "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0}},
        discriminator={"hidden": [{"units": 8, "activation": "tanh"}], "output_dropout": 0.0},
    )
    d_before = copy.deepcopy(tr.D)
    g_before = copy.deepcopy(tr.G)
    torch.manual_seed(123)
    tr.train_step()
    # replay the same random draws: data batch indexes come from the sampler's own generator
    torch.manual_seed(123)
    x = tr.train_data[tr.sampler._perm[0]]
    z = tr.noise(len(x))
    g_loss = objectives.generator_loss(d_before(g_before(z)), "non_saturating")
    grads = torch.autograd.grad(g_loss, list(g_before.parameters()))
    for p_new, p_old, grad in zip(tr.G.parameters(), g_before.parameters(), grads):
        assert torch.allclose(p_new, p_old - 0.5 * grad, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(tr.D.parameters(), d_before.parameters())), "D moved too"


def test_minimax_generator_descends_log_one_minus_d() -> None:
    tr = make_trainer(train={"generator_loss": "minimax", "steps": 3})
    for _ in range(3):
        tr.train_step()
    assert tr.step == 3


def test_budget_in_epochs_counts_batches_per_generator_step() -> None:
    cfg = config.from_dict(tiny_toy_config(train={"steps": None, "epochs": 3, "update": "alternating", "k": 2}))
    assert budget_steps(cfg, batches_per_epoch=8) == 12
    cfg = config.from_dict(tiny_toy_config(train={"steps": None, "epochs": 3, "update": "simultaneous"}))
    assert budget_steps(cfg, batches_per_epoch=8) == 24


def _train_once(tmp: Path) -> dict:
    tr = make_trainer(train={"steps": 10})
    tmp.mkdir()
    run(tr, tmp, 10)
    return torch.load(tmp / "checkpoints" / "last.pt", weights_only=True)


def test_same_seed_gives_identical_checkpoints(tmp_path: Path) -> None:
    a, b = _train_once(tmp_path / "a"), _train_once(tmp_path / "b")
    for net in ("generator", "discriminator"):
        assert a[net].keys() == b[net].keys()
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])


def test_different_seed_gives_different_weights(tmp_path: Path) -> None:
    a = _train_once(tmp_path / "a")
    tr = make_trainer(seed=1, train={"steps": 10})
    (tmp_path / "c").mkdir()
    run(tr, tmp_path / "c", 10)
    assert not torch.equal(a["generator"]["out.weight"], tr.G.state_dict()["out.weight"].cpu())


def test_checkpoints_keep_only_the_newest(tmp_path: Path) -> None:
    tr = make_trainer(train={"steps": 12}, log={"checkpoint_every": 3, "keep": 2})
    run(tr, tmp_path, 12)
    assert [s for s, _ in RunDir(tmp_path).step_checkpoints()] == [9, 12]
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    assert not list((tmp_path / "checkpoints").glob(".*")), "no temp files left behind"
