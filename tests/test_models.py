"""gan_cli/models.py: G and D built from configs: shapes, maxout, dropout placement, init schemes, and
the fast maxout and dropout layers against their definitions."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import CONFIGS

from gan_cli import config, models
from gan_cli.data import output_bias_from_marginals


def test_maxout_takes_the_max_over_consecutive_pieces() -> None:
    m = models.Maxout(2, units=2, pieces=3)
    with torch.no_grad():
        m.linear.weight.zero_()
        m.linear.bias.copy_(torch.tensor([1.0, 5.0, 2.0, -1.0, -3.0, -2.0]))
    assert torch.equal(m(torch.zeros(1, 2)), torch.tensor([[5.0, -1.0]]))


def test_paper_mnist_nets_have_the_papers_shapes_and_init() -> None:
    cfg = config.load(CONFIGS / "mnist.yaml")
    train = torch.rand(50, 784)
    g, d = models.build(cfg, 784, output_bias_from_marginals(train))
    assert [m.out_features for m in g.modules() if isinstance(m, torch.nn.Linear)] == [1200, 1200, 784]
    assert [m.out_features for m in d.modules() if isinstance(m, torch.nn.Linear)] == [1200, 1200, 1]
    assert [m.p for m in d.modules() if isinstance(m, torch.nn.Dropout)] == [0.2, 0.5, 0.5]
    assert not any(isinstance(m, torch.nn.Dropout) for m in g.modules())
    assert g.body[0].weight.abs().max() <= 0.05 and g.body[0].bias.abs().max() == 0
    assert d.out.weight.abs().max() <= 0.005 and d.out.bias.abs().max() == 0
    p = train.double().mean(0).clamp(1e-7, 1 - 1e-7)
    assert torch.allclose(g.out.bias.double(), torch.log(p / (1 - p)), atol=1e-5)
    x = g(torch.rand(4, 100))
    assert x.shape == (4, 784) and (x >= 0).all() and (x <= 1).all()
    assert d(x).shape == (4,), "D returns one logit per example"


def test_a_pass_through_g_is_sized_by_its_widest_layer() -> None:
    import dataclasses

    cfg = config.load(CONFIGS / "mnist.yaml")  # noise 100, G 1200-1200 ReLU, 784 out
    assert models.generator_pass_bytes(cfg, 784, 10_000) == 4 * 10_000 * (100 + 1200 + 784)
    maxout = config.LayerConfig(units=240, activation="maxout", pieces=5)  # 1,200 values before the max
    wide = dataclasses.replace(cfg, generator=dataclasses.replace(cfg.generator, hidden=[maxout]))
    assert models.generator_pass_bytes(wide, 784, 1) == 4 * (100 + 1200 + 784)


def test_noise_priors() -> None:
    torch.manual_seed(0)
    u = models.sample_noise(20000, 3, "uniform", math.sqrt(3), torch.device("cpu"))
    assert u.abs().max() <= math.sqrt(3) and abs(u.var().item() - 1) < 0.05
    n = models.sample_noise(20000, 3, "normal", 2.0, torch.device("cpu"))
    assert abs(n.std().item() - 2) < 0.05


# ---------------------------------------------------------------- the fast layers


@pytest.mark.slow
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


@pytest.mark.slow
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
