"""The fresh-critic JSD bound: below the true JSD (within its interval), close to it on a 1-D case,
and never scored on the critic's own training points."""

from __future__ import annotations

import math

import torch
from scipy.integrate import quad
from scipy.stats import norm

from gan_cli.config import from_dict
from gan_cli.evaluate import critic as cm

torch.set_num_threads(1)
CFG = from_dict({"data": {"name": "gaussian"}, "train": {"steps": 1}, "discriminator": {"hidden": [{"units": 32, "activation": "relu"}]}})


def _jsd_gauss(m1: float, s1: float, m2: float, s2: float) -> float:
    def f(x: float) -> float:
        a, b = norm.pdf(x, m1, s1), norm.pdf(x, m2, s2)
        m = 0.5 * (a + b)
        return (0.5 * a * math.log(a / m) if a > 0 else 0.0) + (0.5 * b * math.log(b / m) if b > 0 else 0.0)

    return quad(f, -10, 20, points=[m1, m2], limit=500)[0]


def _gauss(n: int, mu: float, s: float, seed: int) -> torch.Tensor:
    return mu + s * torch.randn(n, 1, generator=torch.Generator().manual_seed(seed))


def test_bound_is_close_to_and_not_above_the_true_jsd_for_an_affine_g() -> None:
    # p_data = N(4, 0.5^2), p_g = law of G(z) = 3.5 + 0.7 z: JSD 0.09683 by quadrature
    true = _jsd_gauss(4.0, 0.5, 3.5, 0.7)
    real = lambda n, i: _gauss(n, 4.0, 0.5, 100 + i)  # noqa: E731
    fake = lambda n, i: _gauss(n, 3.5, 0.7, 200 + i)  # noqa: E731
    s = cm.make_splits(real(6000, 0), real(8000, 1), 6000, fake, seed=0)
    settings = cm.CriticSettings("discriminator", steps=600, batch_size=256, lr=3e-3, eval_every=50, patience=4)
    r = cm.critic_bound(CFG, s, settings, [0, 1], torch.device("cpu"))
    assert r["value"] <= true + 2 * r["stderr"], r
    assert abs(r["value"] - true) < 0.02, r
    assert r["n_test"] == [3000, 3000] and len(r["per_seed"]) == 2


def test_a_memorising_critic_scores_zero_on_held_out_points_when_p_g_equals_p_data() -> None:
    # 20 training points per side and a wide critic trained to the end: on its own training data
    # it would claim a large JSD; held out, the bound must stay at 0 within its interval
    same = lambda n, i: _gauss(n, 0.0, 1.0, 300 + i)  # noqa: E731
    s = cm.CriticSplits(same(20, 0), same(20, 1), same(500, 2), same(500, 3), same(2000, 4), same(2000, 5))
    settings = cm.CriticSettings("mlp", units=256, steps=600, batch_size=20, lr=1e-2, eval_every=600, patience=1)
    critic = cm.build_critic(CFG, 1, settings)
    critic, _ = cm.train_critic(critic, cm.CriticSplits(s.real_train, s.fake_train, s.real_train, s.fake_train, s.real_test, s.fake_test), settings, 0, torch.device("cpu"))
    from gan_cli.evaluate.value import logits, value_estimate

    on_train = value_estimate(logits(critic, s.real_train, torch.device("cpu")), logits(critic, s.fake_train, torch.device("cpu")))
    assert (on_train.value + math.log(4)) / 2 > 0.1, "the critic memorised its training points"
    r = cm.critic_bound(CFG, s, settings, [0], torch.device("cpu"))
    assert r["value"] <= 2 * r["stderr"] + 1e-9, r


def test_splits_are_disjoint_and_held_out_halves_come_from_the_split() -> None:
    train = torch.arange(100.0)[:, None]
    held = 1000 + torch.arange(50.0)[:, None]
    calls = []

    def fake(n: int, i: int) -> torch.Tensor:
        calls.append((n, i))
        return -(i * 10_000 + torch.arange(float(n)))[:, None]

    s = cm.make_splits(train, held, 40, fake, seed=3)
    assert len(s.real_train) == 40 and len(s.real_valid) == len(s.real_test) == 20
    sets = [set(t.reshape(-1).tolist()) for t in (s.real_train, s.real_valid, s.real_test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sets[1] | sets[2] <= set(held.reshape(-1).tolist())
    assert sorted(i for _, i in calls) == [1, 2, 3], "each split gets its own generated points"
    assert [len(s.fake_train), len(s.fake_valid), len(s.fake_test)] == [40, 20, 20]


def test_critic_architectures() -> None:
    d = cm.build_critic(CFG, 3, cm.CriticSettings("discriminator"))
    assert d.body[0].out_features == 32
    m = cm.build_critic(CFG, 3, cm.CriticSettings("mlp", units=17))
    assert [l.out_features for l in m.body if isinstance(l, torch.nn.Linear)] == [17, 17]
    assert m(torch.zeros(4, 3)).shape == (4,)


def test_same_seed_same_bound() -> None:
    real = lambda n, i: _gauss(n, 0.0, 1.0, i)  # noqa: E731
    fake = lambda n, i: _gauss(n, 0.5, 1.0, 50 + i)  # noqa: E731
    s = cm.make_splits(real(400, 0), real(400, 1), 400, fake, seed=0)
    settings = cm.CriticSettings("mlp", units=16, steps=60, eval_every=20)
    a = cm.critic_bound(CFG, s, settings, [5], torch.device("cpu"))
    b = cm.critic_bound(CFG, s, settings, [5], torch.device("cpu"))
    assert a == b


def test_a_critic_that_separates_the_samples_stops_early() -> None:
    far = lambda n, i: _gauss(n, 8.0 if i % 2 else -8.0, 0.1, 400 + i)  # noqa: E731  real at -8, fake at +8
    s = cm.CriticSplits(far(500, 0), far(500, 1), far(200, 2), far(200, 3), far(200, 4), far(200, 5))
    settings = cm.CriticSettings("mlp", units=16, steps=5000, lr=1e-2, eval_every=50, patience=100)
    r = cm.critic_bound(CFG, s, settings, [0], torch.device("cpu"))
    assert r["best_step"][0] < 5000
    assert r["value"] > math.log(2) - 0.002
