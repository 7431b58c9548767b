"""The fresh-critic lower bound on JSD(p_data || p_g), for data of any dimension.

A new discriminator is trained on a train split of real and generated points, early-stopped on a
validation split, and scored on a disjoint test split: JSD >= max(0, (V_test + log 4)/2) =
log 2 - its balanced held-out cross-entropy. It never scores on its own training points, so the
bound holds in expectation. In high dimensions the number is "the JSD seen by this critic
architecture and budget" (Arora et al. 2017): keep them fixed when comparing models.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gan_cli import models
from gan_cli.config import Config, LayerConfig
from gan_cli.evaluate.value import logits, value_estimate
from gan_cli.objectives import LOG_4

# V >= -0.002 means (V + log 4)/2 >= log 2 - 0.001: the critic already separates the two samples
SEPARATED_V = -0.002


@dataclass(frozen=True)
class CriticSplits:
    """Real and generated points for the critic; the three splits are disjoint."""

    real_train: torch.Tensor
    fake_train: torch.Tensor
    real_valid: torch.Tensor
    fake_valid: torch.Tensor
    real_test: torch.Tensor
    fake_test: torch.Tensor


def make_splits(
    real_train: torch.Tensor, held: torch.Tensor, n: int, fake: Callable[[int, int], torch.Tensor], seed: int
) -> CriticSplits:
    """Disjoint critic splits: real train from the training set (up to n), real valid and test are
    two halves of a random permutation of the held-out split (up to n/2 each); each split gets its
    own fresh generated points, fake(count, stream)."""
    hold = min(len(held) // 2, n // 2)
    n_tr = min(len(real_train), n)
    perm = torch.randperm(len(held), generator=torch.Generator().manual_seed(seed))
    return CriticSplits(
        real_train[:n_tr], fake(n_tr, 1), held[perm[:hold]], fake(hold, 2), held[perm[hold : 2 * hold]], fake(hold, 3)
    )


@dataclass(frozen=True)
class CriticSettings:
    architecture: str = "discriminator"  # the config's D, or "mlp"
    units: int = 128
    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    eval_every: int = 100
    patience: int = 5


def build_critic(cfg: Config, dim: int, settings: CriticSettings) -> models.Discriminator:
    """A freshly initialised critic: the config's discriminator, or a two-layer leaky-ReLU MLP."""
    d_cfg = cfg.discriminator
    if settings.architecture == "mlp":
        layer = LayerConfig(settings.units, "leaky_relu")
        d_cfg = dataclasses.replace(d_cfg, hidden=[layer, layer], output_dropout=0.0, init="default")
    return models.Discriminator(d_cfg, dim)


def train_critic(
    critic: torch.nn.Module, s: CriticSplits, settings: CriticSettings, seed: int, device: torch.device
) -> tuple[torch.nn.Module, int]:
    """Adam on -V(G, D) over the train split; returns the critic with the best validation V and
    the step it was taken at. It stops after `patience` checks without improvement, or once the
    validation V reaches SEPARATED_V. Batches and dropout masks come from `seed`."""
    critic = critic.to(device)
    opt = torch.optim.Adam(critic.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    rt, ft = s.real_train.to(device), s.fake_train.to(device)
    m = min(settings.batch_size, len(rt), len(ft))

    def valid_value() -> float:
        return value_estimate(logits(critic, s.real_valid, device), logits(critic, s.fake_valid, device)).value

    best_v, best_state, best_step, bad = valid_value(), copy.deepcopy(critic.state_dict()), 0, 0
    for step in range(1, settings.steps + 1):
        critic.train()
        ir = torch.randint(len(rt), (m,), generator=gen).to(device)
        jf = torch.randint(len(ft), (m,), generator=gen).to(device)
        loss = -(F.logsigmoid(critic(rt[ir])).mean() + F.logsigmoid(-critic(ft[jf])).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % settings.eval_every == 0 or step == settings.steps:
            v = valid_value()
            if v > best_v:
                best_v, best_state, best_step, bad = v, copy.deepcopy(critic.state_dict()), step, 0
            else:
                bad += 1
                if bad >= settings.patience:
                    break
            if best_v >= SEPARATED_V:
                break  # separates the validation split: more steps add under 0.001 to the bound
    critic.load_state_dict(best_state)
    critic.eval()
    return critic, best_step


def critic_bound(
    cfg: Config, s: CriticSplits, settings: CriticSettings, seeds: list[int], device: torch.device
) -> dict[str, Any]:
    """JSD >= max(0, (V_test + log 4)/2) for one fresh critic per seed; mean over seeds (nats).

    stderr combines the spread over critic seeds with the test split's own sampling error (the
    critics share one test split, so that part does not shrink with more seeds).
    """
    dim = int(s.real_train.shape[1])
    bounds, values, test_se, stops = [], [], [], []
    for seed in seeds:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            critic: torch.nn.Module = build_critic(cfg, dim, settings)
            critic, stop = train_critic(critic, s, settings, seed, device)
            est = value_estimate(logits(critic, s.real_test, device), logits(critic, s.fake_test, device))
        values.append(est.value)
        bounds.append(max(0.0, (est.value + LOG_4) / 2))
        test_se.append(est.jsd_bound_stderr)
        stops.append(stop)
    k = len(bounds)
    mean = sum(bounds) / k
    spread = sum((b - mean) ** 2 for b in bounds) / (k - 1) / k if k > 1 else 0.0
    return {
        "value": mean,
        "stderr": math.sqrt(spread + (sum(test_se) / k) ** 2),
        "per_seed": bounds,
        "value_test": values,
        "best_step": stops,
        "seeds": list(seeds),
        "n_train": [len(s.real_train), len(s.fake_train)],
        "n_valid": [len(s.real_valid), len(s.fake_valid)],
        "n_test": [len(s.real_test), len(s.fake_test)],
    }
