"""`gan eval` against a known p_data (toy targets): the exact (1-D) or smoothed JSD, V(G, D*),
D's gap to D*, W1, and the mode metrics of mixtures."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import seeds
from gan_cli.evaluate import density, modes
from gan_cli.evaluate.report import metric
from gan_cli.evaluate.value import ValueEstimate
from gan_cli.objectives import LOG_4
from gan_cli.sample import Loaded, generate

MIN_DENSITY_SAMPLES = 20
"""Fewest samples the smoothed JSD is estimated from."""
DensityFigure = Callable[[Any, np.ndarray, Callable[[np.ndarray], np.ndarray], str, Any], Path]
"""Draws a 1-D comparison: (target, samples, D(x), title, exact p_g) -> the PNG written."""


def _d_deviation(d_logit: Any, target: Any, r: Any) -> dict[str, Any]:
    """The d_max_dev metric: max |D(x) - 1/2| over p_data's mean +- 3 std (0 at the equilibrium)."""
    largest, mean_under_m = density.d_deviation(lambda x: 1 / (1 + np.exp(-d_logit(x))), target, r.centres, r.p, r.q)
    return metric(
        largest,
        None,
        density.DEVIATION_POINTS,
        "max |D(x) - 1/2| of the checkpoint's D over p_data's mean +- 3 std (0 at the equilibrium)",
        "max |D - 1/2| (data +- 3 std)",
        mean_under_m=mean_under_m,
    )


def density_section(
    loaded: Loaded, target: Any, est: ValueEstimate, n: int, seed: int, figure: DensityFigure | None = None
) -> dict[str, Any]:
    cfg, ev, dev = loaded.cfg, loaded.cfg.eval, loaded.device
    out: dict[str, Any] = {}
    if target.dim == 1 and cfg.noise.dim == 1:
        g_fn = density.numpy_generator(loaded.G)
        d64 = copy.deepcopy(loaded.D).to("cpu").double().eval()
        d_fn = lambda x: d64(torch.from_numpy(np.asarray(x, dtype=np.float64)).reshape(-1, 1)).detach().numpy()  # noqa: E731
        r = density.exact_1d(g_fn, cfg.noise.prior, cfg.noise.scale, target, ev.density.z_grid, ev.density.x_bins)
        v_d = density.expected_value_1d(d_fn, g_fn, cfg.noise.prior, cfg.noise.scale, target, r)
        how = f"exact p_g by change of variables through G on a {ev.density.z_grid:,}-node noise quantile grid, summed over {ev.density.x_bins:,} x bins"
        out["jsd_exact"] = metric(
            r.jsd, None, ev.density.x_bins, "JSD(p_data || p_g), " + how, "JSD, exact p_g (change of variables)"
        )
        out["value_optimal"] = metric(
            r.value_optimal,
            None,
            ev.density.x_bins,
            "V(G, D*) = -log 4 + 2 JSD by quadrature (Theorem 1)",
            "V(G, D*), quadrature",
        )
        out["value_gap"] = metric(
            r.value_optimal - v_d,
            None,
            ev.density.x_bins,
            "V(G, D*) - V(G, D), both by quadrature over the same grids (Proposition 1: >= 0)",
            "D's gap to D*: V(G, D*) - V(G, D)",
            value_of_d=v_d,
        )
        out["w1"] = metric(
            r.w1,
            None,
            ev.density.x_bins * 4,
            "Wasserstein-1: integral |F_data - F_g| dx, both CDFs exact",
            "W1, exact CDFs",
        )
        out["d_max_dev"] = _d_deviation(d_fn, target, r)
        if figure is not None:
            samples = generate(loaded.G, cfg, n, seeds.derive(seed, seeds.EVAL_DENSITY_FIGURE), dev).numpy().reshape(-1)
            d_prob = lambda x: 1 / (1 + np.exp(-d_fn(x)))  # noqa: E731
            title = f"step {loaded.ckpt['step']:,}: JSD {r.jsd:.4f}, V(G, D*) {r.value_optimal:.4f}, V(G, D) {v_d:.4f}"
            out["jsd_exact"]["figure"] = str(figure(target, samples, d_prob, title, r.pushforward))
        return out
    if target.dim > 5:
        return out  # kernel sums do not converge in more dimensions; the critic bound still applies
    h = ev.density.kde_bandwidth * float(target.stds.min())
    gen = torch.Generator().manual_seed(seeds.derive(seed, seeds.EVAL_DENSITY_KERNEL))
    fake = generate(loaded.G, cfg, n, seeds.derive(seed, seeds.EVAL_DENSITY_NOISE), dev)
    sm = density.smoothed_jsd(target, fake, h, n, gen)
    out["jsd_exact"] = metric(
        sm["jsd"],
        sm["stderr"],
        [sm["n_data"], sm["n_kernels"]],
        f"JSD of p_data and p_g both smoothed by N(0, h^2), h = {h:.3g} ({ev.density.kde_bandwidth} x component std): exact smoothed p_data, "
        "kernel sum over the samples, Monte Carlo over them plus kernel noise; a lower bound on the JSD (up to +0.001 from each point's own kernel)",
        "JSD, both smoothed (lower bound)",
        bandwidth=h,
    )
    v_opt = -LOG_4 + 2 * sm["jsd"]
    gap_se = math.sqrt((2 * sm["stderr"]) ** 2 + est.stderr**2)
    out["value_optimal"] = metric(
        v_opt,
        2 * sm["stderr"],
        [sm["n_data"], sm["n_kernels"]],
        "V(G, D*) = -log 4 + 2 JSD of the smoothed pair",
        "V(G, D*), smoothed",
    )
    out["value_gap"] = metric(
        v_opt - est.value,
        gap_se,
        [sm["n_data"], sm["n_kernels"]],
        "V(G, D*) of the smoothed pair - V(G, D) of the checkpoint's D on held-out data (Proposition 1; the smoothing biases it down)",
        "D's gap to D*: V(G, D*) - V(G, D)",
        value_of_d=est.value,
    )
    if target.dim == 1:
        out["w1"] = metric(
            density.w1_samples_1d(target, fake.numpy()),
            None,
            n,
            "Wasserstein-1 between exact p_data and the empirical p_g (biased up by ~n^-1/2)",
            "W1, empirical p_g",
        )
    else:
        out["w1"] = _w1_ot(loaded, target, ev.density.w1_samples, seed)
    return out


def _w1_ot(loaded: Loaded, target: Any, m: int, seed: int, repeats: int = 3) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(seeds.derive(seed, seeds.EVAL_W1_DATA))
    vals, floors = [], []
    for i in range(repeats):
        fake = generate(loaded.G, loaded.cfg, m, seeds.derive(seed, seeds.EVAL_W1_NOISE, i), loaded.device).numpy()
        vals.append(density.w1_exact_ot(fake, target.sample(m, gen).numpy()))
        floors.append(density.w1_exact_ot(target.sample(m, gen).numpy(), target.sample(m, gen).numpy()))
    se = float(np.std(vals, ddof=1) / math.sqrt(repeats))
    return metric(
        float(np.mean(vals)),
        se,
        m,
        f"exact optimal-transport W1 between {m} samples of p_g and of p_data, mean of {repeats}",
        "W1, optimal matching",
        floor=float(np.mean(floors)),
        caveat=f"two samples of p_data itself score {np.mean(floors):.4f}: the sampling floor of this estimate",
    )


def mode_section(loaded: Loaded, target: Any, seed: int) -> dict[str, Any]:
    ev = loaded.cfg.eval
    samples = generate(
        loaded.G, loaded.cfg, ev.modes.generated_samples, seeds.derive(seed, seeds.EVAL_MODES_NOISE), loaded.device
    )
    r = modes.mode_metrics(samples, target, ev.modes.quality_std)
    n, k, q = r["n"], r["num_modes"], ev.modes.quality_std
    hq_lo, hq_hi = r["high_quality_interval"]
    return {
        "modes_captured": metric(
            r["modes_captured"],
            None,
            n,
            f"modes (of {k}) nearest to at least one sample within {q:g} std",
            f"modes captured (of {k})",
            num_modes=k,
            counts=r["counts"],
        ),
        "high_quality": metric(
            r["high_quality"],
            (hq_hi - hq_lo) / 2,
            n,
            f"fraction of samples within {q:g} std of their nearest mode (Wilson interval)",
            f"high quality (perfect: {r['perfect_high_quality']:.4f})",
            interval=[hq_lo, hq_hi],
            perfect=r["perfect_high_quality"],
        ),
        "reverse_kl": metric(
            r["reverse_kl"],
            None,
            n,
            "KL(mode histogram of high-quality samples || true weights)",
            "reverse KL of mode histogram",
            **({"note": "infinite (null in JSON): no sample is high quality"} if math.isinf(r["reverse_kl"]) else {}),
        ),
        "mode_jsd": metric(
            r["jsd"],
            None,
            n,
            "JSD of the mode histograms with an off-mode bin, against a perfect generator's expected histogram",
            "JSD of mode histograms",
        ),
    }
