"""The interval arithmetic of `gan sweep` against scipy.stats: Student-t CDF and quantile, and
mean +- the 95 % t-interval (t quantile times s / sqrt(n))."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

from gan_cli.sweep.intervals import (
    Interval,
    mean_interval,
    t_central_probability,
    t_quantile,
)
from gan_cli.sweep.summary import format_interval

DFS = [*range(1, 31), 40, 59, 100, 250, 1001]


@pytest.mark.parametrize("df", DFS)
def test_t_cdf_matches_scipy(df: int) -> None:
    for t in (0.0, 0.1, 0.7, 1.0, 2.0, 3.5, 12.0, 60.0):
        assert t_central_probability(t, df) == pytest.approx(1.0 - 2.0 * st.t.sf(t, df), abs=1e-13)


@pytest.mark.parametrize("df", DFS)
def test_t_quantile_matches_scipy(df: int) -> None:
    for p in (0.6, 0.9, 0.95, 0.975, 0.995, 0.9995):
        assert t_quantile(p, df) == pytest.approx(st.t.ppf(p, df), rel=1e-10)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 13, 30])
def test_mean_interval_matches_scipy_t_interval(n: int) -> None:
    rng = np.random.default_rng(n)
    for level in (0.9, 0.95, 0.99):
        xs = rng.normal(3.0, 2.0, size=n)
        iv = mean_interval(list(xs), level)
        low, high = st.t.interval(level, n - 1, loc=xs.mean(), scale=st.sem(xs))
        assert iv.n == n and iv.mean == pytest.approx(xs.mean(), rel=1e-12)
        assert iv.low == pytest.approx(low, rel=1e-10) and iv.high == pytest.approx(high, rel=1e-10)


def test_too_few_values_give_no_interval_and_bad_values_are_refused() -> None:
    assert mean_interval([]) == Interval(None, None, 0)
    assert mean_interval([2.5]) == Interval(2.5, None, 1)
    assert mean_interval([4.0, 4.0, 4.0]).half_width == 0.0
    with pytest.raises(ValueError):
        mean_interval([1.0, math.nan])
    with pytest.raises(ValueError):
        t_quantile(0.5, 3)
    with pytest.raises(ValueError):
        t_central_probability(1.0, 0)


def test_format_rounds_the_mean_to_the_half_widths_precision() -> None:
    assert format_interval(Interval(7.6, 0.6795, 5)) == "7.60 ± 0.68 (n=5)"
    assert format_interval(Interval(-1.26512, 0.0123, 5)) == "-1.265 ± 0.012 (n=5)"
    assert format_interval(Interval(123.4, 15.2, 3)) == "123 ± 15 (n=3)"
    assert format_interval(Interval(0.5, None, 1)) == "0.5 (n=1)"
    assert format_interval(Interval(None, None, 0)) == "– (n=0)"
