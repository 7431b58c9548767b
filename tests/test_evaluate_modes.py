"""Mode metrics against the oracle values of evaluation.md (a generator uniform over s of K modes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_cli import toy
from gan_cli.evaluate import modes

# (K, s, JSD, reverse KL) in nats, from evaluation.md
ORACLE = [(8, 1, 0.4969, 2.0794), (8, 4, 0.2158, 0.6931), (8, 6, 0.0956, 0.2877), (8, 8, 0.0, 0.0),
          (25, 1, 0.6084, 3.2189), (25, 10, 0.2744, 0.9163), (25, 24, 0.0141, 0.0408)]
P_INSIDE_2D = 1 - math.exp(-4.5)  # P(chi2_2 < 9) = 0.98889


def target(k: int) -> toy.GaussianMixture:
    return toy.ring(8, 2.0, 0.02) if k == 8 else toy.grid(5, 2.0, 0.05)


@pytest.mark.parametrize("k,s,jsd,rkl", ORACLE)
def test_histogram_metrics_reproduce_the_oracle(k: int, s: int, jsd: float, rkl: float) -> None:
    counts = np.zeros(k)
    counts[:s] = 100  # s modes, equally often, no off-mode samples
    r = modes.histogram_metrics(counts, 0, np.full(k, 1 / k), np.concatenate([np.full(k, 1 / k), [0.0]]))
    assert r["jsd"] == pytest.approx(jsd, abs=1e-4)
    assert r["reverse_kl"] == pytest.approx(rkl, abs=1e-4)
    assert r["modes_captured"] == s and r["high_quality"] == 1.0


@pytest.mark.parametrize("k,s,jsd,rkl", ORACLE)
def test_generators_on_exactly_s_modes(k: int, s: int, jsd: float, rkl: float) -> None:
    t = target(k)
    n = 20_000
    # a generator equal to the target restricted to its first s modes (each with the mode's std)
    part = toy.GaussianMixture(t.means[:s], t.stds[:s], torch.full((s,), 1 / s, dtype=torch.float64))
    r = modes.mode_metrics(part.sample(n, torch.Generator().manual_seed(k * 100 + s)), t, 3.0)
    assert r["modes_captured"] == s
    assert r["high_quality"] == pytest.approx(P_INSIDE_2D, abs=0.003)
    lo, hi = r["high_quality_interval"]
    assert lo < r["high_quality"] < hi
    assert r["reverse_kl"] == pytest.approx(rkl, abs=0.01)
    # the off-mode bin matches a perfect generator's, so the histogram JSD is P(inside) x oracle
    assert r["jsd"] == pytest.approx(P_INSIDE_2D * jsd, abs=0.006)
    # and at the mode centres (all high quality) the counts alone give the oracle exactly
    centres = part.means[torch.arange(s * 40) % s].float()
    c = modes.mode_metrics(centres, t, 3.0)
    assert c["reverse_kl"] == pytest.approx(rkl, abs=1e-4) and c["high_quality"] == 1.0


def test_off_mode_samples_are_low_quality_and_ring_has_eight_distinct_modes() -> None:
    t = toy.ring(8, 2.0, 0.02)
    assert len({(round(a, 6), round(b, 6)) for a, b in t.means.tolist()}) == 8
    x = torch.tensor([[0.0, 0.0], [2.0 + 0.05, 0.0], [2.0 + 0.07, 0.0]])  # centre; 2.5 std; 3.5 std
    nearest, hq = modes.assign(x, t, 3.0)
    assert hq.tolist() == [False, True, False] and nearest[1] == 0
    r = modes.mode_metrics(x, t, 3.0)
    assert r["modes_captured"] == 1 and r["off_mode"] == 2 and r["high_quality"] == pytest.approx(1 / 3)


def test_no_high_quality_sample_gives_infinite_reverse_kl() -> None:
    r = modes.histogram_metrics(np.zeros(8), 10, np.full(8, 1 / 8), modes.reference_histogram(toy.ring(), 3.0))
    assert r["reverse_kl"] == math.inf and r["modes_captured"] == 0 and r["high_quality"] == 0.0


def test_wilson_interval() -> None:
    lo, hi = modes.wilson(50, 100, z=1.96)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert modes.wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12) and modes.wilson(10, 10)[1] == pytest.approx(1.0)
