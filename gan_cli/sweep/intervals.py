"""Mean +- a Student-t confidence interval over seeds: pure arithmetic, no numpy or scipy.

The t quantile comes from the closed-form CDF of Student's t with an integer number of degrees of
freedom (Abramowitz & Stegun 26.7.3 and 26.7.4), inverted by bisection; the tests compare it
with scipy.stats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def t_central_probability(t: float, df: int) -> float:
    """P(-t < T < t) for T ~ Student's t with `df` (a positive integer) degrees of freedom, t >= 0.

    With theta = atan(t / sqrt(df)) (A&S 26.7.3-4): odd df gives
    2/pi * [theta + sin(theta) (cos + 2/3 cos^3 + ... + (2*4*...*(df-3))/(1*3*...*(df-2)) cos^(df-2))],
    even df gives sin(theta) [1 + 1/2 cos^2 + ... + (1*3*...*(df-3))/(2*4*...*(df-2)) cos^(df-2)].
    """
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be a positive integer, got {df}")
    if t < 0:
        raise ValueError(f"t must be >= 0, got {t}")
    if math.isinf(t):
        return 1.0
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        term, total = math.cos(theta), 0.0
        for j in range(1, (df - 1) // 2 + 1):  # powers cos^1, cos^3, ..., cos^(df-2)
            total += term
            term *= c2 * (2 * j) / (2 * j + 1)
        return min(1.0, 2.0 / math.pi * (theta + s * total))
    term, total = 1.0, 0.0
    for j in range(df // 2):  # powers cos^0, cos^2, ..., cos^(df-2)
        total += term
        term *= c2 * (2 * j + 1) / (2 * j + 2)
    return min(1.0, s * total)


def t_quantile(p: float, df: int) -> float:
    """The p quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom, to ~1e-12 relative."""
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p}")
    central = 2.0 * p - 1.0  # P(-t < T < t) at the p quantile
    lo, hi = 0.0, 1.0
    while t_central_probability(hi, df) < central:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_central_probability(mid, df) < central:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Interval:
    """mean +- half_width: a `level` t-interval of the mean of n values (half_width None when n < 2)."""

    mean: float | None
    half_width: float | None
    n: int
    level: float = 0.95

    @property
    def low(self) -> float | None:
        return None if self.mean is None or self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.mean is None or self.half_width is None else self.mean + self.half_width


def mean_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of `values` with the two-sided `level` t-interval: mean +- t_{(1+level)/2, n-1} * s / sqrt(n),
    s the sample standard deviation (n - 1 in the denominator). Non-finite values are an error."""
    xs = [float(v) for v in values]
    if any(not math.isfinite(x) for x in xs):
        raise ValueError("mean_interval: every value must be finite")
    n = len(xs)
    if n == 0:
        return Interval(None, None, 0, level)
    mean = math.fsum(xs) / n
    if n == 1:
        return Interval(mean, None, 1, level)
    s = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    return Interval(mean, t_quantile(0.5 + level / 2.0, n - 1) * s / math.sqrt(n), n, level)
