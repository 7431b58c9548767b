"""Every metric of `gan eval` for one checkpoint: the value and the divergences, each with its estimator, n and interval.

Sections (docs/evaluation.md): the checkpoint's own V(G, D); the fresh-critic JSD bound (any data); the
near-exact JSD, V(G, D*) and W1 against a known p_data (toy targets); mode metrics (mixtures);
Parzen log-likelihood and memorisation (images). Every random number comes from `seed`, each stream
from its own seed (gan_cli.seeds.derive), so an evaluation repeats; nets and heavy arithmetic run on
the device the config (or --device) names.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import data, devices, seeds
from gan_cli.config import Config
from gan_cli.errors import GanError
from gan_cli.evaluate import critic as critic_mod
from gan_cli.evaluate import density, images, modes
from gan_cli.evaluate.feature_section import feature_metrics
from gan_cli.evaluate.report import metric
from gan_cli.evaluate.value import ValueEstimate, logits, value_estimate
from gan_cli.objectives import LOG_4
from gan_cli.sample import Loaded, generate, load_models

SPLITS = ("valid", "test")
DensityFigure = Callable[[Any, np.ndarray, Callable[[np.ndarray], np.ndarray], str, Any], Path]
"""Draws a 1-D comparison: (target, samples, D(x), title, exact p_g) -> the PNG written."""
MIN_CRITIC_PART = 10  # fewest real (and generated) points in each critic split
MIN_DENSITY_SAMPLES = 20


def _check_sizes(cfg: Config, ds: data.Dataset, split: str, n: int) -> None:
    """Every 'N too small' failure, before any work is done."""
    held = ds.split(split)
    if len(held) < 2:
        raise GanError(
            f"--split {split}: the {split} split of {cfg.data.name} has {len(held)} examples; at least 2 are needed"
        )
    if n < 2:
        raise GanError(f"--num-samples {n}: V(G, D) needs at least 2 generated samples")
    hold = min(len(held) // 2, n // 2)
    if hold < MIN_CRITIC_PART or min(n, len(ds.train)) < MIN_CRITIC_PART:
        raise GanError(
            f"--num-samples {n} is too small for the critic bound: it needs at least {2 * MIN_CRITIC_PART} generated samples "
            f"and {2 * MIN_CRITIC_PART} held-out examples (the {split} split has {len(held)}), to give its train, "
            f"validation and test splits {MIN_CRITIC_PART} each"
        )
    if ds.target is None:
        images.parzen_split(ds.valid, split, held, cfg.eval.parzen.valid_examples)
    if ds.target is not None and not (ds.target.dim == 1 and cfg.noise.dim == 1) and n < MIN_DENSITY_SAMPLES:
        raise GanError(f"--num-samples {n} is too small for the density JSD: it needs at least {MIN_DENSITY_SAMPLES}")


def _value_section(
    loaded: Loaded, held: torch.Tensor, n: int, seed: int, split: str
) -> tuple[dict[str, Any], ValueEstimate]:
    dev = loaded.device
    fake = generate(loaded.G, loaded.cfg, n, seeds.derive(seed, seeds.EVAL_VALUE_NOISE), dev)
    real = held[:n]
    est = value_estimate(logits(loaded.D, real, dev), logits(loaded.D, fake, dev))
    n_pair = [est.n_real, est.n_fake]
    return {
        "value": metric(
            est.value,
            est.stderr,
            n_pair,
            "V(G, D) of the checkpoint's D: mean log D(x) + mean log(1 - D(G(z))), held-out x, fresh z",
            "V(G, D), checkpoint's D",
            split=split,
        ),
        "d_real": metric(est.d_real, None, est.n_real, "mean D(x) on held-out real data", "mean D(x)", split=split),
        "d_fake": metric(est.d_fake, None, est.n_fake, "mean D(G(z)) on fresh noise", "mean D(G(z))", split=split),
        "jsd_value_bound": metric(
            est.jsd_bound,
            est.jsd_bound_stderr,
            n_pair,
            "(V + log 4)/2 of the checkpoint's D: a lower bound on the JSD",
            "JSD >= (V + log 4)/2",
            split=split,
        ),
    }, est


def _critic_section(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, seed: int, split: str
) -> dict[str, Any]:
    ev, cfg = loaded.cfg.eval, loaded.cfg
    splits = critic_mod.make_splits(
        ds.train,
        held,
        n,
        lambda m, i: generate(loaded.G, cfg, m, seeds.derive(seed, seeds.EVAL_CRITIC_NOISE, i), loaded.device),
        seeds.derive(seed, seeds.EVAL_CRITIC_SPLIT),
    )
    settings = critic_mod.CriticSettings(
        ev.critic.architecture,
        ev.critic.units,
        ev.critic.steps,
        ev.critic.batch_size,
        ev.critic.lr,
        ev.critic.check_every,
        ev.critic.patience,
    )
    critic_seeds = [seeds.derive(seed, seeds.EVAL_CRITIC_INIT, i) for i in range(ev.critic.seeds)]
    r = critic_mod.critic_bound(cfg, splits, settings, critic_seeds, loaded.device)
    arch = (
        "the config's discriminator"
        if ev.critic.architecture == "discriminator"
        else f"an MLP {ev.critic.units}-{ev.critic.units} leaky ReLU"
    )
    est = (
        f"max(0, (V_test + log 4)/2) of a fresh critic ({arch}, Adam, <= {ev.critic.steps} steps early-stopped on a "
        f"validation split), mean over {ev.critic.seeds} seed(s); real train = the training set, valid/test = halves of the {split} split"
    )
    value, stderr = r.pop("value"), r.pop("stderr")
    extra = {}
    if any(step >= ev.critic.steps for step in r["best_step"]):
        extra["caveat"] = (
            f"a critic was still improving on its validation split at its budget of {ev.critic.steps} steps: "
            "the bound is looser than it could be (raise eval.critic.steps)"
        )
    return {
        "jsd_critic": metric(
            value,
            stderr,
            r["n_test"],
            est,
            f"JSD >= fresh-critic bound, {ev.critic.seeds} seed(s)",
            split=split,
            **r,
            **extra,
        )
    }


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


def _density_section(
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


def _mode_section(loaded: Loaded, target: Any, seed: int) -> dict[str, Any]:
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


def _image_section(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, seed: int, split: str
) -> dict[str, Any]:
    ev, dev = loaded.cfg.eval, loaded.device
    kernels = ev.parzen.kernels or n
    centres = generate(loaded.G, loaded.cfg, kernels, seeds.derive(seed, seeds.EVAL_PARZEN_NOISE), dev).to(dev)
    r = images.parzen_metric(centres, ds.valid.to(dev), split, held.to(dev), ev.parzen.valid_examples)
    out = {
        "parzen_ll": metric(
            r["mean"],
            r["stderr"],
            r["n"],
            f"Parzen window log-likelihood (paper's Table 1 protocol): {r['n_kernels']:,} kernels from G, sigma = {r['sigma']:.4g} "
            f"chosen on the first {r['n_valid']:,} validation images from logspace(-1, 0, 10), mean +- std/sqrt(n)",
            f"Parzen log-likelihood, sigma {r['sigma']:.3g}",
            split=split,
            sigma=r["sigma"],
            n_kernels=r["n_kernels"],
            n_valid=r["n_valid"],
            valid_means=r["valid_means"],
            caveat=images.PARZEN_CAVEAT,
        )
    }
    m = min(ev.memorisation.samples, len(held))
    samples = generate(loaded.G, loaded.cfg, m, seeds.derive(seed, seeds.EVAL_MEMORISATION_NOISE), dev)
    r = images.memorisation(samples, held[:m], ds.train, dev, seeds.derive(seed, seeds.EVAL_MEMORISATION_BOOTSTRAP))
    value, stderr = r.pop("value"), r.pop("stderr")
    out["nn_distance_ratio"] = metric(
        value,
        stderr,
        [r["n_samples"], r["n_held_out"]],
        "median distance sample -> nearest training image over median held-out image -> nearest training image (bootstrap s.e.)",
        "memorisation: NN distance ratio",
        split=split,
        **r,
    )
    return out


def evaluate(loaded: Loaded, split: str, n: int, seed: int, figure: DensityFigure | None = None) -> dict[str, Any]:
    """Every metric that applies to this checkpoint's data, as the eval.json dict; 1-D exact
    comparisons also hand p_data, G's samples, D and the exact p_g to `figure` (which draws them
    and returns the picture's path)."""
    cfg = loaded.cfg
    if split not in SPLITS:
        raise GanError(f"--split {split}: use valid or test (the held-out splits)")
    ds = data.load(cfg)
    if ds.dim != loaded.data_info["dim"]:
        raise GanError(
            f"the checkpoint's G makes {loaded.data_info['dim']}-dimensional samples but data {cfg.data.name} has {ds.dim} dimensions"
        )
    _check_sizes(cfg, ds, split, n)
    held = ds.split(split)
    rng_devices = [loaded.device] if loaded.device.type == "cuda" else []
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(seeds.derive(seed, seeds.EVAL_GLOBAL))
        metrics, est = _value_section(loaded, held, n, seed, split)
        lap("value")
        metrics.update(_critic_section(loaded, ds, held, n, seed, split))
        lap("critic")
        if ds.target is not None:
            metrics.update(_density_section(loaded, ds.target, est, n, seed, figure))
            lap("density")
            if ds.target.num_modes > 1:
                metrics.update(_mode_section(loaded, ds.target, seed))
                lap("modes")
        else:
            metrics.update(_image_section(loaded, ds, held, n, seed, split))
            lap("images")
            metrics.update(feature_metrics(loaded, ds, held, n, split, seed))
            lap("features")
    return {
        "checkpoint": loaded.ckpt["path"],
        "step": int(loaded.ckpt["step"]),
        "weights": loaded.weights,
        "seed": seed,
        "split": split,
        "num_samples": n,
        "data": cfg.data.name,
        "device": str(loaded.device),
        "seconds": seconds,
        "metrics": metrics,
    }


def load_for_eval(ckpt_path: str | Path, device_name: str | None = None, weights: str | None = None) -> Loaded:
    """A checkpoint's nets on the device named (default: the config's device); `weights`: G's
    moving average (ema) or raw weights, None: ema when the checkpoint has it."""
    cpu = load_models(ckpt_path, torch.device("cpu"), weights)
    dev = devices.select(device_name or cpu.cfg.device)
    return Loaded(cpu.cfg, cpu.G.to(dev), cpu.D.to(dev), cpu.ckpt, cpu.data_info, dev, cpu.weights)
