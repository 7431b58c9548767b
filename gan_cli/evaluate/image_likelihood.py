"""`gan eval` on images: the paper's Parzen window log-likelihood (Table 1's protocol) and the
nearest-neighbour memorisation check."""

from __future__ import annotations

from typing import Any

import torch

from gan_cli import data, seeds
from gan_cli.evaluate import images
from gan_cli.evaluate.report import metric
from gan_cli.sample import Loaded, generate


def parzen_kernels(loaded: Loaded, kernels: int, seed: int) -> torch.Tensor:
    """The Parzen window's centres: `kernels` samples of G from the evaluation `seed`'s own noise
    stream, on the loaded models' device (the same draw for every evaluation with that seed)."""
    dev = loaded.device
    return generate(loaded.G, loaded.cfg, kernels, seeds.derive(seed, seeds.EVAL_PARZEN_NOISE), dev).to(dev)


def image_section(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, seed: int, split: str
) -> dict[str, Any]:
    ev, dev = loaded.cfg.eval, loaded.device
    centres = parzen_kernels(loaded, ev.parzen.kernels or n, seed)
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
