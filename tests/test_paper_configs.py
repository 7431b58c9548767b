"""configs/mnist.yaml is the released code's setup value for value; the Algorithm 1 twin differs only in the update."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gan_cli import config as config_mod
from gan_cli import models
from gan_cli.config import to_dict

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _load(name: str):
    return config_mod.load(CONFIGS / name)


def _flatten(d, prefix=""):
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: d}


def test_mnist_yaml_resolves_to_the_protocol_values() -> None:
    cfg = _load("mnist.yaml")
    assert cfg.data.name == "mnist"
    assert cfg.data.train_range == [0, 50000] and cfg.data.valid_range == [50000, 60000]
    assert (cfg.noise.dim, cfg.noise.prior) == (100, "uniform")
    assert cfg.noise.scale == pytest.approx(math.sqrt(3))
    g = cfg.generator
    assert [(h.units, h.activation, h.dropout) for h in g.hidden] == [(1200, "relu", 0.0), (1200, "relu", 0.0)]
    assert (g.output_activation, g.init, g.init_scale, g.output_bias) == ("sigmoid", "uniform", 0.05, "marginals")
    d = cfg.discriminator
    # dropout is the probability of dropping: keep 0.8 of the pixels, 0.5 of the hidden units
    assert [(h.units, h.activation, h.pieces, h.dropout) for h in d.hidden] == [(240, "maxout", 5, 0.2), (240, "maxout", 5, 0.5)]
    assert (d.output_dropout, d.init, d.init_scale) == (0.5, "uniform", 0.005)
    t = cfg.train
    assert (t.update, t.k, t.generator_loss, t.d_loss_scale, t.batch_size) == ("simultaneous", 1, "non_saturating", 0.5, 100)
    o = t.optimizer
    assert (o.name, o.sgd_form, o.lr) == ("sgd", "paper", 0.1)
    assert (o.lr_schedule.name, o.lr_schedule.decay, o.lr_schedule.min_lr) == ("exponential", 1.000004, 1e-6)
    m = o.momentum_schedule
    assert (m.name, m.start, m.final, m.saturate_epoch) == ("linear", 0.5, 0.7, 250)
    assert o.weight_decay == 0.0
    assert cfg.select.every_epochs == 1  # model selection on the validation Parzen signal is on
    assert cfg.eval.generated_samples == 10_000


def test_algorithm1_config_differs_only_in_the_update_scheme() -> None:
    a = _flatten(to_dict(_load("mnist.yaml")))
    b = _flatten(to_dict(_load("mnist_algorithm1.yaml")))
    diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert diff == {"name": ("mnist", "mnist_algorithm1"), "train.update": ("simultaneous", "alternating")}
    assert b["train.k"] == 1


def test_mnist_nets_have_the_papers_shapes_and_init_ranges() -> None:
    cfg = _load("mnist.yaml")
    torch.manual_seed(0)
    g, d = models.build(cfg, 784)
    assert models.count_parameters(g) == 100 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 784 + 784
    assert models.count_parameters(d) == 784 * 1200 + 1200 + 240 * 1200 + 1200 + 240 + 1
    # every layer of G, the sigmoid output layer included, is U(-0.05, 0.05); D is U(-0.005, 0.005)
    for lin in [m for m in g.modules() if isinstance(m, torch.nn.Linear)]:
        assert 0.04 < lin.weight.abs().max().item() <= 0.05
    for lin in [m for m in d.modules() if isinstance(m, torch.nn.Linear)]:
        assert 0.004 < lin.weight.abs().max().item() <= 0.005
        assert lin.bias.abs().max().item() == 0.0
    drops = [m.p for m in d.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]


def test_selection_is_off_by_default() -> None:
    cfg = config_mod.from_dict({"train": {"steps": 1}})
    assert cfg.select.every_epochs == 0


def test_averaged_recipe_is_the_released_training_with_G_averaged() -> None:
    a = _flatten(to_dict(_load("mnist.yaml")))
    b = _flatten(to_dict(_load("mnist_averaged.yaml")))
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert not any(k.startswith(("data.", "noise.", "generator.", "discriminator.")) for k in diff)
    assert diff == {
        "name", "train.epochs", "train.ema.decay", "train.ema.rampup", "log.checkpoint_every", "log.keep",
        "select.kernels",
    }
    averaged = _load("mnist_averaged.yaml")
    assert (averaged.train.ema.decay, averaged.train.ema.rampup) == (0.9995, None)


def test_the_tuned_algorithm1_recipe_changes_only_the_optimizer_and_averages_G() -> None:
    """configs/mnist_algorithm1_adam.yaml: Algorithm 1 as the paper states it (alternating, k = 1, the
    paper's nets, data and noise), with Adam and G averaged; nothing else differs."""
    a = _flatten(to_dict(_load("mnist_algorithm1.yaml")))
    b = _flatten(to_dict(_load("mnist_algorithm1_adam.yaml")))
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert not any(k.startswith(("data.", "noise.", "generator.", "discriminator.")) for k in diff)
    assert {k for k in diff if not k.startswith(("train.optimizer.", "log.", "select."))} == {"name", "train.epochs", "train.ema.decay", "train.ema.rampup"}
    tuned = _load("mnist_algorithm1_adam.yaml")
    assert (tuned.train.update, tuned.train.k, tuned.train.optimizer.name) == ("alternating", 1, "adam")
    assert (tuned.train.ema.decay, tuned.train.ema.rampup) == (0.9999, 0.2)


def test_fast_recipe_is_the_tuned_algorithm1_recipe_in_bf16() -> None:
    """configs/mnist_fast.yaml: configs/mnist_algorithm1_adam.yaml with bf16 forward passes, nothing else."""
    a = _flatten(to_dict(_load("mnist_algorithm1_adam.yaml")))
    b = _flatten(to_dict(_load("mnist_fast.yaml")))
    diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert diff == {"name": ("mnist_algorithm1_adam", "mnist_fast"), "train.precision": ("float32", "bf16")}
