"""The paper's optimizer form and schedules against their formulas."""

from __future__ import annotations

import math

import pytest
import torch

from gan_cli import optim
from gan_cli.config import LrScheduleConfig, MomentumScheduleConfig, OptimizerConfig

PAPER = OptimizerConfig(
    name="sgd",
    lr=0.1,
    sgd_form="paper",
    lr_schedule=LrScheduleConfig("exponential", 1.000004, 1e-6),
    momentum_schedule=MomentumScheduleConfig("linear", 0.5, 0.7, 250),
)


def test_lr_schedule_is_the_papers_decay_with_floor() -> None:
    assert optim.lr_at(PAPER, 0) == 0.1
    assert math.isclose(optim.lr_at(PAPER, 1000), 0.1 / 1.000004**1000)
    assert optim.lr_at(PAPER, 10**8) == 1e-6


def test_momentum_ramp_by_epoch() -> None:
    assert optim.momentum_at(PAPER, 1) == 0.5
    assert math.isclose(optim.momentum_at(PAPER, 125), 0.5 + 0.2 * 124 / 249)
    assert math.isclose(optim.momentum_at(PAPER, 250), 0.7)
    assert math.isclose(optim.momentum_at(PAPER, 900), 0.7)


def test_paper_sgd_matches_the_formula_with_decaying_lr() -> None:
    """v <- mu v - lr_t g; p <- p + v, with lr_t changing every step (differs from torch's form)."""
    cfg = OptimizerConfig(name="sgd", lr=0.5, sgd_form="paper", momentum=0.9, lr_schedule=LrScheduleConfig("exponential", 1.5, 1e-6))
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.build(cfg, [p])
    expected_p, v = p.detach().clone(), torch.zeros(2)
    for t in range(4):
        lr, _ = optim.apply_schedule(opt, cfg, t, epoch=1)
        assert math.isclose(lr, 0.5 / 1.5**t)
        loss = (p**2).sum() * (t + 1)
        opt.zero_grad()
        loss.backward()
        g = 2 * expected_p * (t + 1)
        v = 0.9 * v - lr * g
        expected_p = expected_p + v
        opt.step()
        assert torch.allclose(p.detach(), expected_p, atol=1e-6)


def test_torch_form_differs_when_lr_changes() -> None:
    def run(form: str) -> torch.Tensor:
        cfg = OptimizerConfig(name="sgd", lr=0.5, sgd_form=form, momentum=0.9, lr_schedule=LrScheduleConfig("exponential", 2.0, 1e-6))
        p = torch.nn.Parameter(torch.tensor([1.0]))
        opt = optim.build(cfg, [p])
        for t in range(3):
            optim.apply_schedule(opt, cfg, t, epoch=1)
            opt.zero_grad()
            p.sum().backward()
            opt.step()
        return p.detach()

    # constant gradient 1: paper v = -0.5, -0.7, -0.755 ; torch v = 1, 1.9, 2.71 scaled by 0.5, 0.25, 0.125
    assert run("paper").item() == pytest.approx(1 - 0.5 - (0.45 + 0.25) - (0.63 + 0.125))
    assert run("torch").item() == pytest.approx(1 - 0.5 * 1 - 0.25 * 1.9 - 0.125 * 2.71)


def test_adam_is_built_with_the_configured_betas() -> None:
    cfg = OptimizerConfig(name="adam", lr=1e-3, betas=[0.5, 0.99])
    opt = optim.build(cfg, [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["betas"] == (0.5, 0.99)
