"""V(G, D) with its standard error and the implied JSD bound, against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_cli.evaluate.value import LOG_4, logits, value_estimate


def _logsig(a: np.ndarray) -> np.ndarray:
    return -np.log1p(np.exp(-a))


def test_value_and_stderr_match_numpy() -> None:
    rng = np.random.default_rng(0)
    a_r, a_f = rng.normal(0.5, 1.0, 300), rng.normal(-0.3, 2.0, 500)
    est = value_estimate(torch.tensor(a_r), torch.tensor(a_f))
    lr, lf = _logsig(a_r), _logsig(-a_f)
    assert est.value == pytest.approx(lr.mean() + lf.mean(), abs=1e-12)
    assert est.stderr == pytest.approx(math.sqrt(lr.var(ddof=1) / 300 + lf.var(ddof=1) / 500), rel=1e-10)
    assert est.d_real == pytest.approx((1 / (1 + np.exp(-a_r))).mean(), abs=1e-12)
    assert est.d_fake == pytest.approx((1 / (1 + np.exp(-a_f))).mean(), abs=1e-12)
    assert est.jsd_bound == pytest.approx((est.value + math.log(4)) / 2)
    assert (est.n_real, est.n_fake) == (300, 500)


def test_d_one_half_gives_minus_log_4_and_zero_bound() -> None:
    est = value_estimate(torch.zeros(10), torch.zeros(20))
    assert est.value == pytest.approx(-LOG_4, abs=1e-12)
    assert est.stderr == 0 and est.jsd_bound == pytest.approx(0.0, abs=1e-12)


def test_saturated_logits_stay_finite() -> None:
    # a saturated D (logit +-200) must not be clamped: log D(x) = -log(1 + e^-200) ~ 0, exact
    est = value_estimate(torch.full((4,), 200.0), torch.full((4,), -200.0))
    assert math.isfinite(est.value) and est.value == pytest.approx(0.0, abs=1e-12)
    wrong = value_estimate(torch.full((4,), -200.0), torch.full((4,), 200.0))
    assert wrong.value == pytest.approx(-400.0, rel=1e-9)  # BCELoss would clamp this at -200


def test_too_few_points_is_an_error() -> None:
    with pytest.raises(ValueError):
        value_estimate(torch.zeros(1), torch.zeros(5))


def test_logits_use_eval_mode_and_restore_training() -> None:
    D = torch.nn.Sequential(torch.nn.Dropout(0.9), torch.nn.Linear(3, 1))
    D.train()
    x = torch.ones(50, 3)
    a = logits(D, x, torch.device("cpu"), batch=7)
    assert torch.allclose(a.reshape(-1), D[1](x).reshape(-1).detach(), atol=1e-6), "no dropout when scoring"
    assert D.training, "the net's mode is restored"
