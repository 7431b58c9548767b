"""Every metric of `gan eval` for one checkpoint: the value and the divergences, each with its estimator, n and interval.

Sections (docs/evaluation.md): the checkpoint's own V(G, D); the fresh-critic JSD bound (any data); the
near-exact JSD, V(G, D*), W1 and mode metrics against a known p_data (known_target.py); Parzen
log-likelihood and memorisation (image_likelihood.py); feature metrics (feature_section.py). Every random number comes from `seed`, each stream
from its own seed (gan_cli.seeds.derive), so an evaluation repeats; nets and heavy arithmetic run on
the device the config (or --device) names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gan_cli import data, devices, seeds
from gan_cli.config import Config
from gan_cli.data.fingerprint import changes, fingerprint, where
from gan_cli.errors import GanError
from gan_cli.evaluate import critic as critic_mod
from gan_cli.evaluate import images
from gan_cli.evaluate.feature_section import check_network, feature_metrics
from gan_cli.evaluate.image_likelihood import image_section
from gan_cli.evaluate.known_target import MIN_DENSITY_SAMPLES, DensityFigure, density_section, mode_section
from gan_cli.evaluate.report import metric
from gan_cli.evaluate.value import ValueEstimate, logits, value_estimate
from gan_cli.sample import Loaded, generate, load_models

SPLITS = ("valid", "test")
MIN_CRITIC_PART = 10  # fewest real (and generated) points in each critic split


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


def evaluate(
    loaded: Loaded,
    split: str,
    n: int,
    seed: int,
    figure: DensityFigure | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every metric that applies to this checkpoint's data, as the eval.json dict; 1-D exact
    comparisons also hand p_data, G's samples, D and the exact p_g to `figure` (which draws them
    and returns the picture's path). `progress` hears each section's name as it starts."""
    say = progress or (lambda what: None)
    cfg = loaded.cfg
    if split not in SPLITS:
        raise GanError(f"--split {split}: use valid or test (the held-out splits)")
    ds = data.load(cfg)
    if ds.dim != loaded.data_info["dim"]:
        raise GanError(
            f"the checkpoint's G makes {loaded.data_info['dim']}-dimensional samples but data {cfg.data.name} has {ds.dim} dimensions"
        )
    changed = changes(loaded.data_info.get("fingerprint"), fingerprint(ds))
    if changed:  # the seeded split has moved: held-out images may be ones G trained on
        raise GanError(
            f"the data under {where(cfg.data)} is not what the checkpoint trained on (its files, or the "
            "checkpoint's data section, changed since); restore them to measure it on the splits it trained against:",
            changed,
        )
    _check_sizes(cfg, ds, split, n)
    if ds.target is None:
        check_network(cfg, ds)
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
        say("V(G, D) of the checkpoint's D")
        metrics, est = _value_section(loaded, held, n, seed, split)
        lap("value")
        say(
            f"the fresh-critic JSD bound ({cfg.eval.critic.seeds} critic(s), up to {cfg.eval.critic.steps:,} steps each)"
        )
        metrics.update(_critic_section(loaded, ds, held, n, seed, split))
        lap("critic")
        if ds.target is not None:
            say("the JSD, V(G, D*) and W1 against the known p_data")
            metrics.update(density_section(loaded, ds.target, est, n, seed, figure))
            lap("density")
            if ds.target.num_modes > 1:
                say("the mode metrics")
                metrics.update(mode_section(loaded, ds.target, seed))
                lap("modes")
        else:
            say("the Parzen log-likelihood and the memorisation check")
            metrics.update(image_section(loaded, ds, held, n, seed, split))
            lap("images")
            say("the feature metrics (FID, KID, precision/recall, ...)")
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
