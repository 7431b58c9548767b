"""Stacked MNIST (VEEGAN, PacGAN): three MNIST digits as the R, G, B channels of one image, 1,000 modes.

A sample's mode is 100 a + 10 b + c, with a, b, c the MNIST feature network's labels of its three
channels. Protocol metrics over eval.stacked.generated_samples samples (26,000 in VEEGAN and PacGAN): modes
covered (at least one sample; of 1,000) and KL(mode histogram || uniform) in nats. FID, KID,
precision/recall and density/coverage use the three channels' features side by side (3 x 128).
Calibration: FID and the k-NN metrics for as many stacks of the other held-out split (validation
when the held-out split is test; its digits come from the whole MNIST training file, so the network
saw some of them: the `pair` says so), the mode metrics for as many real training stacks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import numpy as np
import torch
from rich.console import Console
from torch import nn

from gan_cli import data, seeds
from gan_cli.evaluate import feature_cache, feature_calibration
from gan_cli.evaluate import feature_metrics as fm
from gan_cli.evaluate.feature_net import DigitCNN, extract
from gan_cli.evaluate.feature_scores import score_features
from gan_cli.evaluate.report import metric
from gan_cli.sample import Loaded, generate

MODES = 1000


class StackedCNN(nn.Module):
    """The MNIST classifier applied to each channel: features side by side, mode scores over 1,000."""

    def __init__(self, mnist: DigitCNN) -> None:
        super().__init__()
        self.mnist = mnist

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), 3, -1)
        return torch.cat([self.mnist.features(x[:, i]) for i in range(3)], dim=1)

    def head(self, f: torch.Tensor) -> torch.Tensor:
        """(n, 1000) log-probabilities of (a, b, c), channels independent: the argmax is 100 a* + 10 b* + c*."""
        d = f.shape[1] // 3
        a, b, c = (self.mnist.head(f[:, i * d : (i + 1) * d]).log_softmax(1) for i in range(3))
        return (a[:, :, None, None] + b[:, None, :, None] + c[:, None, None, :]).reshape(len(f), MODES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def stacked_net(cfg: Any, train_modes: np.ndarray, console: Console) -> feature_cache.FeatureNet:
    """The MNIST feature network, per channel: the shipped reference one (eval.features.network:
    reference), or the one of the MNIST files under data.root with the same split ranges (there are
    as many stacks as MNIST images), trained on first use."""
    net = feature_cache.ensure(
        dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, name="mnist")), None, console
    )
    counts = np.bincount(train_modes, minlength=MODES).tolist()
    return feature_cache.FeatureNet(
        # StackedCNN stands in for a DigitCNN: the same features / head / forward that extract() calls
        cast(DigitCNN, StackedCNN(net.model).eval()),
        net.path,
        {**net.info, "data": "stacked-mnist", "train_class_counts": counts},
    )


def mode_metrics(labels: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """Modes covered (at least one sample) of 1,000 and KL(histogram || uniform), nats, bootstrap s.e. (from `seed`)."""
    r = fm.class_histogram(labels, np.ones(MODES), seed=seed)
    return {"covered": r["seen"], "kl": r["kl"], "kl_stderr": r["kl_stderr"], "n": r["n"], "max_kl": math.log(MODES)}


def stacked_metrics(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, split: str, seed: int, console: Console
) -> dict[str, Any]:
    """The stacked-mnist records: the feature metrics of feature_section plus modes_captured and
    reverse_kl; `seed`: the evaluation's."""
    cfg, ev, dev = loaded.cfg, loaded.cfg.eval, loaded.device
    labels = data.load_labels(cfg)
    net = stacked_net(cfg, labels["train"], console)
    s = ev.stacked.generated_samples
    gen = torch.Generator().manual_seed(seeds.derive(seed, seeds.EVAL_FEATURES_TRAIN))
    train_part = ds.train[torch.randperm(len(ds.train), generator=gen)[: min(s, len(ds.train))]]
    cal_split = feature_calibration.unseen_split(split)
    pool = ds.split(cal_split)
    real_part = pool[torch.randperm(len(pool), generator=gen)[: min(n, len(pool))]]
    fake = generate(loaded.G, cfg, max(n, s), seeds.derive(seed, seeds.EVAL_FEATURES_NOISE), dev)
    fake_fl, held_fl, train_fl, real_fl = (
        extract(net.model, ds.to_unit(x), device=dev) for x in (fake, held, train_part, real_part)
    )
    first = lambda f, k: (f[0][:k], f[1][:k])  # noqa: E731
    pair = feature_calibration.calibration_pair(cfg, net, cal_split, len(real_part), split, len(held))
    out = score_features(net, first(fake_fl, n), held_fl, real_fl, split, ev, seed, pair)
    del out["classes_covered"], out["class_kl"]  # over n samples; the protocol's mode metrics follow
    g, r = (
        mode_metrics(f[1][:s], seeds.derive(seed, seeds.EVAL_STACKED_BOOTSTRAP, side))
        for side, f in enumerate((fake_fl, train_fl))
    )
    pair = f"{r['n']:,} real training stacks"
    how = f"{net.label}'s labels of the three channels (mode 100 a + 10 b + c) of {g['n']:,} samples (VEEGAN/PacGAN protocol: 26,000)"
    common = {"split": split, "feature_net": out["fid"]["feature_net"]}
    out["modes_captured"] = metric(
        g["covered"],
        None,
        g["n"],
        f"modes (of {MODES:,}) with at least one sample, by {how}",
        f"modes covered (of {MODES:,})",
        num_modes=MODES,
        **common,
        calibration={"value": r["covered"], "stderr": None, "n": r["n"], "pair": pair},
    )
    out["reverse_kl"] = metric(
        g["kl"],
        g["kl_stderr"],
        g["n"],
        f"KL(mode histogram || uniform over {MODES:,}), nats, by {how}; bootstrap s.e.; log 1000 = {g['max_kl']:.3f} for one mode",
        "KL(modes || uniform)",
        **common,
        calibration={"value": r["kl"], "stderr": r["kl_stderr"], "n": r["n"], "pair": pair},
    )
    return out
