"""gan_cli/training/updates.py: the eager step's algebra against plain autograd (the last section), and
the released code's update, step for step, against pylearn2's formulas written out in numpy.

A tiny net of the paper's shape (G: ReLU, ReLU, sigmoid output with the marginal bias; D: dropout
on every layer's input, two maxout layers, a linear logit) trains three simultaneous steps in the
Trainer. The same three steps are computed independently in float64 numpy from the same initial
weights, minibatches, noise and dropout masks (the masks and the noise are fed to both sides):
- one fake batch S = G(z); D's logits a on [x; S] in ONE dropped-out pass;
- D's loss 1/2 [mean softplus(-a_x) + mean softplus(a_S)] (AdversaryCost2: 0.5 * (cost(1, D(x)) +
  cost(0, D(S))));
- G's loss mean softplus(-a_S) = -log D(G(z)), through that same dropped-out pass;
- both gradients by hand-written backprop (checked below against central finite differences), taken
  before either net moves;
- momentum in pylearn2's form v <- mu v - lr_t g; p <- p + v, lr_t = max(lr0 / decay^t, min_lr)
  with t the updates before this one (pylearn2's ExponentialDecay divides after each update), mu by
  1-based epoch: start + (final - start) clip((e - 1)/(E - 1), 0, 1).
The decay (1.5 a step) and a momentum ramp that changes at step 3 make both schedules matter.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from gan_cli import config, data, models, objectives
from gan_cli.config import from_dict
from gan_cli.data import Dataset
from gan_cli.training.loop import Trainer

NZ, H_G, DIM, UNITS, PIECES = 3, 6, 5, 4, 3
M, N_TRAIN, STEPS = 4, 8, 3  # 2 batches an epoch: step 3 is in epoch 2
P_IN, P_HID = 0.2, 0.5
LR0, DECAY, MIN_LR = 0.5, 1.5, 1e-4
MU_START, MU_FINAL, MU_EPOCH = 0.5, 0.7, 2

CONFIG: dict[str, Any] = {
    "seed": 3,
    "device": "cpu",
    "data": {"name": "npz", "path": "unused.npz"},
    "noise": {"dim": NZ, "prior": "uniform"},
    "generator": {
        "hidden": [{"units": H_G, "activation": "relu"}, {"units": H_G, "activation": "relu"}],
        "output_activation": "sigmoid", "init": "uniform", "init_scale": 0.5, "output_bias": "marginals",
    },
    "discriminator": {
        "hidden": [
            {"units": UNITS, "activation": "maxout", "pieces": PIECES, "dropout": P_IN},
            {"units": UNITS, "activation": "maxout", "pieces": PIECES, "dropout": P_HID},
        ],
        "output_dropout": P_HID, "init": "uniform", "init_scale": 0.5,
    },
    "train": {
        "update": "simultaneous", "generator_loss": "non_saturating", "d_loss_scale": 0.5, "batch_size": M, "steps": STEPS,
        "optimizer": {
            "name": "sgd", "sgd_form": "paper", "lr": LR0,
            "lr_schedule": {"name": "exponential", "decay": DECAY, "min_lr": MIN_LR},
            "momentum_schedule": {"name": "linear", "start": MU_START, "final": MU_FINAL, "saturate_epoch": MU_EPOCH},
        },
    },
}

G_KEYS = {"W1": "body.0.weight", "b1": "body.0.bias", "W2": "body.2.weight", "b2": "body.2.bias", "Wo": "out.weight", "bo": "out.bias"}
D_KEYS = {"W1": "body.1.linear.weight", "b1": "body.1.linear.bias", "W2": "body.3.linear.weight", "b2": "body.3.linear.bias", "wo": "out.weight", "bo": "out.bias"}


# ---------------------------------------------------------------- the reference, float64 numpy


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


def g_forward(p: dict[str, np.ndarray], z: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """x = sigmoid(Wo relu(W2 relu(W1 z + b1) + b2) + bo), rows of z."""
    h1 = np.maximum(z @ p["W1"].T + p["b1"], 0.0)
    h2 = np.maximum(h1 @ p["W2"].T + p["b2"], 0.0)
    x = sigmoid(h2 @ p["Wo"].T + p["bo"])
    return x, {"z": z, "h1": h1, "h2": h2, "x": x}


def g_backward(p: dict[str, np.ndarray], c: dict[str, np.ndarray], dx: np.ndarray) -> dict[str, np.ndarray]:
    do = dx * c["x"] * (1.0 - c["x"])
    dh2 = (do @ p["Wo"]) * (c["h2"] > 0)
    dh1 = (dh2 @ p["W2"]) * (c["h1"] > 0)
    return {"Wo": do.T @ c["h2"], "bo": do.sum(0), "W2": dh2.T @ c["h1"], "b2": dh2.sum(0), "W1": dh1.T @ c["z"], "b1": dh1.sum(0)}


def maxout(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max over consecutive groups of PIECES (pylearn2: z[:, i::pool_stride] for piece i, folded with
    T.maximum); also where the gradient goes: to every piece equal to the max, as the 2014 Theano
    Maximum.grad did (gx = eq(out, x) gz, gy = eq(out, y) gz). Ties are not rare: a row whose
    inputs dropout zeroed entirely leaves every piece at its bias, and the biases start at 0."""
    g = y.reshape(len(y), -1, PIECES)
    top = g.max(-1)
    return top, (g == top[..., None]).astype(g.dtype)


def d_forward(p: dict[str, np.ndarray], X: np.ndarray, masks: list[np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    """The logit a of each row of X, with the given inverted-dropout masks (kept / (1 - p)) on each layer's input."""
    x0 = X * masks[0]
    h1, w1 = maxout(x0 @ p["W1"].T + p["b1"])
    x1 = h1 * masks[1]
    h2, w2 = maxout(x1 @ p["W2"].T + p["b2"])
    x2 = h2 * masks[2]
    a = x2 @ p["wo"][0] + p["bo"][0]
    return a, {"x0": x0, "x1": x1, "x2": x2, "w1": w1, "w2": w2, "masks": masks}


def d_backward(p: dict[str, np.ndarray], c: dict[str, Any], da: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Gradients of sum(da * a) for D's parameters, and for D's input X."""
    dx2 = np.outer(da, p["wo"][0])
    dy2 = ((dx2 * c["masks"][2])[..., None] * c["w2"]).reshape(len(da), -1)
    dx1 = dy2 @ p["W2"]
    dy1 = ((dx1 * c["masks"][1])[..., None] * c["w1"]).reshape(len(da), -1)
    dX = (dy1 @ p["W1"]) * c["masks"][0]
    grads = {"wo": (da @ c["x2"])[None, :], "bo": np.array([da.sum()]), "W2": dy2.T @ c["x1"], "b2": dy2.sum(0), "W1": dy1.T @ c["x0"], "b1": dy1.sum(0)}
    return grads, dX


def losses(gp: dict[str, np.ndarray], dp: dict[str, np.ndarray], x: np.ndarray, z: np.ndarray, masks: list[np.ndarray]) -> tuple[float, float]:
    """(D's loss x 1/2, G's non-saturating loss) from one dropped-out pass over [x; G(z)]."""
    s, _ = g_forward(gp, z)
    a, _ = d_forward(dp, np.concatenate([x, s]), masks)
    a_x, a_s = a[: len(x)], a[len(x):]
    return 0.5 * (softplus(-a_x).mean() + softplus(a_s).mean()), softplus(-a_s).mean()


def gradients(gp: dict[str, np.ndarray], dp: dict[str, np.ndarray], x: np.ndarray, z: np.ndarray, masks: list[np.ndarray]) -> tuple[dict, dict, float, float]:
    """grad_theta_d of D's loss and grad_theta_g of G's loss, both at the current (gp, dp)."""
    m = len(x)
    s, gc = g_forward(gp, z)
    a, dc = d_forward(dp, np.concatenate([x, s]), masks)
    a_x, a_s = a[:m], a[m:]
    # d/da of 1/2 [mean softplus(-a_x) + mean softplus(a_s)]
    da_d = np.concatenate([-0.5 * sigmoid(-a_x) / m, 0.5 * sigmoid(a_s) / m])
    d_grads, _ = d_backward(dp, dc, da_d)
    # d/da of mean softplus(-a_s), through the same pass (real rows do not depend on G)
    da_g = np.concatenate([np.zeros(m), -sigmoid(-a_s) / m])
    _, dX = d_backward(dp, dc, da_g)
    g_grads = g_backward(gp, gc, dX[m:])
    d_loss = 0.5 * (softplus(-a_x).mean() + softplus(a_s).mean())
    return d_grads, g_grads, d_loss, softplus(-a_s).mean()


def lr_at(t: int) -> float:
    return max(LR0 / DECAY**t, MIN_LR)


def momentum_at(epoch: int) -> float:
    return MU_START + (MU_FINAL - MU_START) * min(max((epoch - 1) / (MU_EPOCH - 1), 0.0), 1.0)


def draw_masks(rng: np.random.Generator) -> list[np.ndarray]:
    """Inverted-dropout masks kept / (1 - p) for D's three layer inputs over 2M rows [x; S]."""
    return [(rng.random((2 * M, w)) >= q) / (1 - q) for w, q in ((DIM, P_IN), (UNITS, P_HID), (UNITS, P_HID))]


# ---------------------------------------------------------------- the trainer, fed the same numbers


def params(module: torch.nn.Module, keys: dict[str, str]) -> dict[str, np.ndarray]:
    state = module.state_dict()
    return {name: state[key].detach().double().numpy().copy() for name, key in keys.items()}


def make_trainer() -> Trainer:
    rng = np.random.default_rng(7)
    train = torch.tensor(rng.uniform(0.0, 1.0, (N_TRAIN, DIM)), dtype=torch.float32)
    ds = Dataset("npz", train, train[:2], train[:2], None, (0.0, 1.0), None)
    return Trainer(from_dict(CONFIG), ds, torch.device("cpu"))


def test_the_reference_gradients_are_the_finite_differences_of_the_reference_losses() -> None:
    """The numpy backprop the comparison relies on, checked by central differences in float64."""
    rng = np.random.default_rng(1)
    tr = make_trainer()
    gp, dp = params(tr.G, G_KEYS), params(tr.D, D_KEYS)
    x, z = rng.uniform(0, 1, (M, DIM)), rng.uniform(-1.7, 1.7, (M, NZ))
    masks = draw_masks(rng)
    for k in masks:  # no row dropped entirely: no maxout ties, where the loss has no derivative
        k[:, 0] = np.where(k.any(1), k[:, 0], 2.0)
    d_grads, g_grads, _, _ = gradients(gp, dp, x, z, masks)
    h = 1e-6
    for which, ps, grads, loss_index in (("D", dp, d_grads, 0), ("G", gp, g_grads, 1)):
        for name, value in ps.items():
            numeric = np.zeros_like(value)
            for i in np.ndindex(value.shape):
                old = value[i]
                value[i] = old + h
                up = losses(gp, dp, x, z, masks)[loss_index]
                value[i] = old - h
                down = losses(gp, dp, x, z, masks)[loss_index]
                value[i] = old
                numeric[i] = (up - down) / (2 * h)
            np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-9, err_msg=f"{which}.{name}")


def test_three_simultaneous_steps_match_pylearn2s_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    tr = make_trainer()
    # float64 nets: the comparison then tests the algorithm, not float32 rounding (the logits
    # still pass through the losses in float32, which bounds the agreement near 1e-7)
    tr.G.double()
    tr.D.double()
    tr.fast.eager.data = tr.train_data.double()
    gp, dp = params(tr.G, G_KEYS), params(tr.D, D_KEYS)
    gp0, dp0 = {k: v.copy() for k, v in gp.items()}, {k: v.copy() for k, v in dp.items()}

    # the numbers both sides use: noise, dropout masks per step; the trainer's minibatch indexes are recorded
    zs = [rng.uniform(-np.sqrt(3), np.sqrt(3), (M, NZ)) for _ in range(STEPS)]
    masks = [draw_masks(rng) for _ in range(STEPS)]
    assert any((step[1] == 0).all(1).any() for step in masks), "no maxout tie: the tie rule would go untested"
    feed_z = [torch.from_numpy(z) for z in zs]
    feed_masks = [torch.from_numpy(k) for step in masks for k in step]
    tr.fast.eager.noise = lambda n: feed_z.pop(0)

    def dropout(self: models.Dropout, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = feed_masks.pop(0)
        assert keep.shape == x.shape and self.p == (P_IN if keep.shape[1] == DIM else P_HID)
        return x * keep

    monkeypatch.setattr(models.Dropout, "forward", dropout)
    batches: list[np.ndarray] = []
    draw = tr.sampler.next
    tr.sampler.next = lambda: batches.append(draw().numpy().copy()) or torch.from_numpy(batches[-1])  # type: ignore[method-assign]

    vg = {k: np.zeros_like(v) for k, v in gp.items()}
    vd = {k: np.zeros_like(v) for k, v in dp.items()}
    for t in range(STEPS):
        tr.train_step()
        got = tr.acc.read()
        x = tr.train_data.double().numpy()[batches[t]]
        d_grads, g_grads, d_loss, g_loss = gradients(gp, dp, x, zs[t], masks[t])
        assert got["d_loss"] == pytest.approx(d_loss, rel=1e-6) and got["g_loss"] == pytest.approx(g_loss, rel=1e-6)
        lr, mu = lr_at(t), momentum_at(t // (N_TRAIN // M) + 1)
        assert (tr.lr, tr.momentum) == (pytest.approx(lr), pytest.approx(mu))
        # v <- mu v - lr g; p <- p + v, both nets from gradients taken before either moved
        for p, v, g in ((dp, vd, d_grads), (gp, vg, g_grads)):
            for k in p:
                v[k] = mu * v[k] - lr * g[k]
                p[k] = p[k] + v[k]
    assert not feed_z and not feed_masks
    assert momentum_at(1) != momentum_at(2) and lr_at(0) != lr_at(2)

    for which, mine, start, module, keys in (("G", gp, gp0, tr.G, G_KEYS), ("D", dp, dp0, tr.D, D_KEYS)):
        theirs = params(module, keys)
        for k in mine:
            moved, expected = theirs[k] - start[k], mine[k] - start[k]
            assert np.abs(expected).max() > 1e-3, f"{which}.{k} barely moved: the comparison would be empty"
            # the displacement agrees to 1e-6 of its size (so do the weights, a fortiori)
            assert np.linalg.norm(moved - expected) <= 1e-6 * np.linalg.norm(expected), f"{which}.{k}"
            np.testing.assert_allclose(theirs[k], mine[k], rtol=1e-6, atol=1e-9, err_msg=f"{which}.{k}")


# ---------------------------------------------------------------- the eager step's algebra (slow: moved from the speed options' file)


from test_training_accel import raw_config, trainer  # noqa: E402 - the tiny experiment the speed options use


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
