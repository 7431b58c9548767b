"""G and D built from configs: shapes, maxout, dropout placement, init schemes."""

from __future__ import annotations

import math

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


def test_noise_priors() -> None:
    torch.manual_seed(0)
    u = models.sample_noise(20000, 3, "uniform", math.sqrt(3), torch.device("cpu"))
    assert u.abs().max() <= math.sqrt(3) and abs(u.var().item() - 1) < 0.05
    n = models.sample_noise(20000, 3, "normal", 2.0, torch.device("cpu"))
    assert abs(n.std().item() - 2) < 0.05
