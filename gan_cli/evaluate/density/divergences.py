"""Divergences between two discrete distributions given as probability vectors (nats), and D*."""

from __future__ import annotations

import math

import numpy as np

LOG_2 = math.log(2.0)


def _xlogy_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a log(a/b) with 0 log 0 = 0 (b > 0 wherever a > 0)."""
    out = np.zeros_like(a, dtype=np.float64)
    pos = a > 0
    out[pos] = a[pos] * (np.log(a[pos]) - np.log(b[pos]))
    return out


def jsd_masses(p: np.ndarray, q: np.ndarray) -> float:
    """JSD of two probability vectors (nats), 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return float(0.5 * _xlogy_ratio(p, m).sum() + 0.5 * _xlogy_ratio(q, m).sum())


def value_optimal_masses(p: np.ndarray, q: np.ndarray) -> float:
    """V(G, D*) = sum p log D* + sum q log(1 - D*), D* = p/(p + q) per cell (= -log 4 + 2 JSD)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    s = p + q
    return float(_xlogy_ratio(p, s).sum() + _xlogy_ratio(q, s).sum())


def optimal_discriminator(p_density: np.ndarray, q_density: np.ndarray) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1); nan where both vanish."""
    p = np.asarray(p_density, dtype=np.float64)
    q = np.asarray(q_density, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / (p + q)
