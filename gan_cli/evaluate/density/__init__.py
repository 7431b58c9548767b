"""The 1-D density estimators of p_g, and divergences against a known p_data (the toy targets).

p_g in 1-D has one estimator of each kind, used by `gan eval` and by every 1-D picture:
  - G maps 1-D noise to 1-D data: exact, by change of variables (`exact_1d`: `pushforward_1d`,
    `exact_1d`, and the Figure 1 numbers `summary_1d` / `diagnostics`);
  - otherwise (1-D data from higher-dimensional noise): the Gaussian KDE `kde_1d` of samples of G
    (`from_samples`).
The noise quantile grid (`noise_quantile_grid`, from the prior's quantile function `noise_ppf`)
is the one grid of noise quantiles. In any low dimension, `smoothed_jsd` (`from_samples`).

Divergences (`divergences`): JSD, V(G, D*); Wasserstein-1 (`from_samples`).
"""

from gan_cli.evaluate.density.divergences import (
    LOG_2,
    jsd_masses,
    optimal_discriminator,
    value_optimal_masses,
)
from gan_cli.evaluate.density.exact_1d import (
    DEVIATION_POINTS,
    Exact1D,
    PushforwardCDF,
    d_deviation,
    data_window_1d,
    diagnostics,
    exact_1d,
    expected_value_1d,
    mixture_cdf_1d,
    noise_cdf,
    noise_ppf,
    noise_quantile_grid,
    numpy_generator,
    pushforward_1d,
    summary_1d,
)
from gan_cli.evaluate.density.from_samples import (
    kde_1d,
    smoothed_jsd,
    smoothed_target,
    w1_exact_ot,
    w1_samples_1d,
)

__all__ = [
    "DEVIATION_POINTS",
    "LOG_2",
    "Exact1D",
    "PushforwardCDF",
    "d_deviation",
    "data_window_1d",
    "diagnostics",
    "exact_1d",
    "expected_value_1d",
    "jsd_masses",
    "kde_1d",
    "mixture_cdf_1d",
    "noise_cdf",
    "noise_ppf",
    "noise_quantile_grid",
    "numpy_generator",
    "optimal_discriminator",
    "pushforward_1d",
    "smoothed_jsd",
    "smoothed_target",
    "summary_1d",
    "value_optimal_masses",
    "w1_exact_ot",
    "w1_samples_1d",
]
