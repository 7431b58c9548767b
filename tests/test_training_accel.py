"""The fast step and its options give the same updates as the plain computation (correctness only).

No timing here: speed is measured by benchmarks/throughput.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from gan_cli import config, data, objectives, optim
from gan_cli.errors import GanError
from gan_cli.training import accel as speed
from gan_cli.training.loop import Trainer

pytestmark = pytest.mark.slow

torch.set_num_threads(1)


def raw_config(dropout: float = 0.0, **train: Any) -> dict[str, Any]:
    """A tiny 4-d experiment with maxout D; dropout 0 unless asked, so runs compare exactly."""
    return {
        "name": "speed",
        "seed": 3,
        "device": "cpu",
        "data": {"name": "mixture", "means": [[0, 0, 1, 1], [2, 2, 0, 0]], "std": 0.2, "train_size": 256, "held_out_size": 64},
        "noise": {"dim": 3},
        "generator": {"hidden": [{"units": 16, "activation": "relu"}, {"units": 16, "activation": "relu"}]},
        "discriminator": {
            "hidden": [{"units": 8, "activation": "maxout", "pieces": 3, "dropout": dropout}, {"units": 8, "activation": "maxout", "pieces": 3, "dropout": dropout}],
            "output_dropout": dropout,
        },
        "train": {
            "batch_size": 32,
            "steps": 10,
            "optimizer": {"name": "sgd", "lr": 0.05, "lr_schedule": {"name": "exponential", "decay": 1.01}, "momentum_schedule": {"name": "linear", "saturate_epoch": 3}},
            **train,
        },
    }


def trainer(raw: dict[str, Any]) -> Trainer:
    cfg = config.from_dict(raw)
    return Trainer(cfg, data.load(cfg), torch.device("cpu"))


def params(tr: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in (*tr.G.parameters(), *tr.D.parameters())]


# ---------------------------------------------------------------- the eager step's algebra


def test_one_d_pass_over_real_and_fake_is_algorithm_1s_d_update() -> None:
    tr = trainer(raw_config())
    G, D = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
    state = torch.get_rng_state()
    x = tr.train_data[:32]
    tr.fast.eager.discriminator(torch.arange(32))
    # by hand: D(x) and D(G(z)) as two passes, the loss of Algorithm 1, pylearn2's momentum SGD
    torch.set_rng_state(state)
    with torch.no_grad():
        fake = G(tr.noise(32))
    loss = objectives.discriminator_loss(D(x), D(fake), tr.cfg.train.d_loss_scale)
    grads = torch.autograd.grad(loss, list(D.parameters()))
    lr = tr.opt_d.param_groups[0]["lr"]
    for p, g, new in zip(D.parameters(), grads, tr.D.parameters()):
        torch.testing.assert_close(new.detach(), p.detach() - lr * g, rtol=1e-5, atol=1e-7)
    for p, new in zip(G.parameters(), tr.G.parameters()):
        assert torch.equal(p, new), "D's update moved G"


def test_g_update_through_a_frozen_d_matches_plain_autograd_and_restores_d() -> None:
    tr = trainer(raw_config())
    G, D = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
    state = torch.get_rng_state()
    tr.fast.eager.generator()
    assert all(p.requires_grad for p in tr.D.parameters()), "D's parameters must train again"
    assert all(p.grad is None for p in tr.D.parameters()), "G's update must not leave gradients on D"
    torch.set_rng_state(state)
    loss = objectives.generator_loss(D(G(tr.noise(32))), tr.cfg.train.generator_loss)
    grads = torch.autograd.grad(loss, list(G.parameters()))
    lr = tr.opt_g.param_groups[0]["lr"]
    for p, g, new in zip(G.parameters(), grads, tr.G.parameters()):
        torch.testing.assert_close(new.detach(), p.detach() - lr * g, rtol=1e-5, atol=1e-7)
    for p, new in zip(D.parameters(), tr.D.parameters()):
        assert torch.equal(p, new), "G's update moved D"


def test_simultaneous_gradients_are_taken_before_either_net_moves() -> None:
    tr = trainer(raw_config(update="simultaneous"))
    G, D = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
    state = torch.get_rng_state()
    x = tr.train_data[:32]
    tr.fast.eager.simultaneous(torch.arange(32))
    torch.set_rng_state(state)
    fake = G(tr.noise(32))
    real_logits, fake_logits = D(x), D(fake)
    d_grads = torch.autograd.grad(objectives.discriminator_loss(real_logits, fake_logits, tr.cfg.train.d_loss_scale), list(D.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(objectives.generator_loss(fake_logits, tr.cfg.train.generator_loss), list(G.parameters()))
    lr = tr.opt_d.param_groups[0]["lr"]
    for before, g, after in [*zip(D.parameters(), d_grads, tr.D.parameters()), *zip(G.parameters(), g_grads, tr.G.parameters())]:
        torch.testing.assert_close(after.detach(), before.detach() - lr * g, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_a_step_asks_the_host_for_nothing(monkeypatch: pytest.MonkeyPatch, update: str) -> None:
    """Metrics stay on the device: no Python number is read from a tensor inside a step."""
    tr = trainer(raw_config(dropout=0.2, update=update))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a host-device sync inside the training step")

    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for _ in range(3):
        tr.train_step()
    monkeypatch.undo()
    row = tr.acc.read()
    assert all(torch.isfinite(torch.tensor(v)) for v in row.values())


# ---------------------------------------------------------------- PaperSGD with lr on the device


def test_paper_sgd_reads_the_same_schedule_from_device_tensors() -> None:
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    host, dev = optim.PaperSGD(a, lr=0.1, momentum=0.5, weight_decay=0.01), optim.PaperSGD(b, lr=0.1, momentum=0.5, weight_decay=0.01)
    dev.keep_hyperparameters_on_device(torch.device("cpu"))
    for t in range(4):
        grads = [torch.randn_like(p) for p in a]
        for opt, ps in ((host, a), (dev, b)):
            for p, g in zip(ps, grads):
                p.grad = g.clone()
            opt.param_groups[0]["lr"] = 0.1 / 1.5**t  # the schedule changes lr and momentum each update
            opt.param_groups[0]["momentum"] = 0.5 + 0.05 * t
        dev.sync_hyperparameters()
        host.step()
        dev.step()
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    # and the device tensors, not the group's floats, drive the update once it is on
    lr_dev, mu_dev = (float(t) for t in dev._device_hyper[0])
    p0, v0 = b[0].detach().clone(), dev.state[b[0]]["velocity"].clone()
    dev.param_groups[0]["lr"] = 1.0  # not synced
    for p in b:
        p.grad = torch.ones_like(p)
    dev.step()
    torch.testing.assert_close(b[0].detach(), p0 + mu_dev * v0 - lr_dev * (1 + 0.01 * p0))


# ---------------------------------------------------------------- CUDA graphs


def test_cuda_graphs_are_refused_without_cuda() -> None:
    with pytest.raises(GanError, match="train.cuda_graphs"):
        config.from_dict(raw_config(cuda_graphs=True))  # device: cpu
    raw = raw_config(cuda_graphs=True)
    raw["device"] = "auto"
    cfg = config.from_dict(raw)
    with pytest.raises(GanError, match="train.cuda_graphs: needs a CUDA device"):
        speed.StepOptions(cfg, torch.device("cpu"), torch.nn.Identity(), torch.nn.Identity())


def test_cuda_graphs_need_paper_sgd_and_not_compile() -> None:
    raw = raw_config(cuda_graphs=True, compile=True)
    raw["device"] = "cuda"
    raw["train"]["optimizer"] = {"name": "adam"}
    with pytest.raises(GanError) as info:
        config.from_dict(raw)
    text = str(info.value)
    assert "train.cuda_graphs: cannot be combined with train.compile" in text
    assert "train.cuda_graphs: needs train.optimizer.name sgd" in text


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_replaying_the_captured_updates_trains_like_the_eager_step(update: str) -> None:
    """The replay driver (static index, schedule on the device, counters) with an eager stand-in
    for the CUDA graph: the same seed must give the same nets as the plain eager loop."""
    eager, replayed = trainer(raw_config(dropout=0.2, update=update, k=2)), trainer(raw_config(dropout=0.2, update=update, k=2))
    torch.manual_seed(11)
    for _ in range(6):  # crosses epoch boundaries (8 batches per epoch): momentum changes
        eager.train_step()
    torch.manual_seed(11)
    replayed.fast.captured = speed.CapturedUpdates(replayed.fast.eager, update, capture=lambda body: body)
    for _ in range(6):
        replayed.train_step()
    assert (replayed.step, replayed.d_updates) == (eager.step, eager.d_updates)
    for p, q in zip(params(eager), params(replayed)):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.tensor(list(eager.acc.read().values())), torch.tensor(list(replayed.acc.read().values())))


def test_a_nan_rollback_drops_the_recorded_updates_so_they_are_recorded_again(tmp_path: Path) -> None:
    """After a rollback the optimizers hold new momentum tensors: replaying graphs recorded before
    would step the old ones, so the captured updates must be recorded anew."""
    from gan_cli.training import nan_guard, run

    tr = trainer(raw_config(update="alternating", k=1))
    tr.fast.captured = speed.CapturedUpdates(tr.fast.eager, "alternating", capture=lambda body: body)
    tr.train_step()
    ckpt = run.save_checkpoint(tr, tmp_path, keep=0)
    tr.train_step()
    tr.roll_back(nan_guard.Rollback(ckpt, lr_scale=0.5, count=1, limit=3))
    assert tr.fast.captured is None and tr.step == 1
    tr.train_step()  # and training goes on
    assert tr.step == 2


# ---------------------------------------------------------------- bf16 and compile


def test_bf16_autocast_keeps_float32_weights_and_close_losses() -> None:
    ref, low = trainer(raw_config()), trainer(raw_config(precision="bf16"))
    for tr in (ref, low):
        torch.manual_seed(5)
        for _ in range(3):
            tr.train_step()
    assert all(p.dtype == torch.float32 for p in params(low))
    a, b = ref.acc.read(), low.acc.read()
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=0.02), key
    assert a != b, "bf16 should round somewhere: is autocast on?"


def test_bf16_is_refused_where_autocast_cannot_run() -> None:
    cfg = config.from_dict(raw_config(precision="bf16"))
    with pytest.raises(GanError, match="train.precision"):
        speed.StepOptions(cfg, torch.device("meta"), torch.nn.Identity(), torch.nn.Identity())


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_compiled_step_gives_the_eager_losses(update: str) -> None:
    why = speed.compile_available()
    if why:
        pytest.skip(why)
    ref, fast = trainer(raw_config(update=update)), trainer(raw_config(update=update, compile=True))
    assert fast.fast.options.G is not fast.G, "train.compile should wrap the nets"
    for tr in (ref, fast):
        torch.manual_seed(7)
        for _ in range(3):
            tr.train_step()
    a, b = ref.acc.read(), fast.acc.read()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    for p, q in zip(params(ref), params(fast)):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert set(fast.state_dict()["generator"]) == set(ref.state_dict()["generator"]), "checkpoints keep plain names"


# ---------------------------------------------------------------- the fast layers


def test_maxout_kernel_matches_the_max_over_pieces_and_its_gradient() -> None:
    from gan_cli.models import Maxout

    torch.manual_seed(0)
    m = Maxout(7, 4, 3).double()
    x = torch.randn(2, 5, 7, dtype=torch.float64, requires_grad=True)
    reference = m.linear(x).view(2, 5, 4, 3).amax(-1)
    torch.testing.assert_close(m(x), reference)
    g = torch.randn(2, 5, 4, dtype=torch.float64)
    ours = torch.autograd.grad(m(x), [x, *m.parameters()], g)
    theirs = torch.autograd.grad(reference, [x, *m.parameters()], g)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(m, (x,))


def test_dropout_keeps_each_input_with_probability_1_minus_p_and_rescales() -> None:
    from gan_cli.models import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.3)
    y = drop(torch.ones(400, 500))
    kept = y != 0
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.005)  # 200,000 draws: s.e. 0.001
    x = torch.randn(30, 20, requires_grad=True)
    out = drop(x)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).float() / 0.7)
    drop.eval()
    assert drop(x) is x
