"""Losses on fixed logits against values computed by hand."""

from __future__ import annotations

import math

import torch

from gan_cli import objectives


def _log_sigmoid(a: float) -> float:
    return -math.log1p(math.exp(-a))


REAL = torch.tensor([2.0, -1.0, 0.0])
FAKE = torch.tensor([-3.0, 0.5])


def test_value_is_mean_log_d_real_plus_mean_log_one_minus_d_fake() -> None:
    by_hand = sum(_log_sigmoid(a) for a in (2.0, -1.0, 0.0)) / 3 + sum(_log_sigmoid(-a) for a in (-3.0, 0.5)) / 2
    assert math.isclose(objectives.value(REAL, FAKE).item(), by_hand, rel_tol=1e-6)


def test_value_at_d_equal_half_is_minus_log_4() -> None:
    zero = torch.zeros(5)
    assert math.isclose(objectives.value(zero, zero).item(), -math.log(4), rel_tol=1e-7)


def test_discriminator_loss_is_scaled_negative_value() -> None:
    v = objectives.value(REAL, FAKE).item()
    assert math.isclose(objectives.discriminator_loss(REAL, FAKE).item(), -v, rel_tol=1e-6)
    assert math.isclose(objectives.discriminator_loss(REAL, FAKE, 0.5).item(), -0.5 * v, rel_tol=1e-6)


def test_generator_losses() -> None:
    minimax = sum(_log_sigmoid(-a) for a in (-3.0, 0.5)) / 2  # E log(1 - D(G(z)))
    non_sat = -sum(_log_sigmoid(a) for a in (-3.0, 0.5)) / 2  # -E log D(G(z))
    assert math.isclose(objectives.generator_loss(FAKE, "minimax").item(), minimax, rel_tol=1e-6)
    assert math.isclose(objectives.generator_loss(FAKE, "non_saturating").item(), non_sat, rel_tol=1e-6)


def test_saturated_logits_stay_finite() -> None:
    """The logit form never takes log(0): BCELoss-style clamping is not needed."""
    huge = torch.tensor([200.0, -200.0], requires_grad=True)
    v = objectives.value(huge, -huge)
    v.backward()
    assert torch.isfinite(v) and torch.isfinite(huge.grad).all()
    assert math.isclose(objectives.generator_loss(torch.tensor([-200.0])).item(), 200.0, rel_tol=1e-6)


def test_non_saturating_gradient_is_stronger_when_d_rejects_fakes() -> None:
    """Section 3: early on D(G(z)) ~ 0 and log(1 - D) saturates; -log D does not."""
    a = torch.tensor([-8.0], requires_grad=True)
    objectives.generator_loss(a, "minimax").backward()
    g_minimax = a.grad.abs().item()
    a.grad = None
    objectives.generator_loss(a, "non_saturating").backward()
    assert a.grad.abs().item() > 1000 * g_minimax
