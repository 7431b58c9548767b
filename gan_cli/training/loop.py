"""The training loop. Algorithm 1 of Goodfellow et al. (2014), and the released code's variant.

    for number of training iterations do
        for k steps do
            sample a minibatch of m noise samples {z_1..z_m} from p_g(z)
            sample a minibatch of m examples {x_1..x_m} from p_data(x)
            update D by ascending  grad_theta_d 1/m sum [log D(x_i) + log(1 - D(G(z_i)))]
        end for
        sample a minibatch of m noise samples {z_1..z_m} from p_g(z)
        update G by descending grad_theta_g 1/m sum log(1 - D(G(z_i)))
    end for

`train.update: alternating` runs exactly this (with the non-saturating G loss of Section 3 when
`train.generator_loss: non_saturating`). `simultaneous` is what the released MNIST code ran: one
fake batch S = G(z), D's and G's losses from the same D passes, both gradients taken before
either net moves, both nets stepped together. One training *step* is one generator update.
With several processes (training/distributed.py) the updates are these, on each rank's shard of
the batch, and each optimizer step first averages its own net's gradient over the ranks.
The update rules themselves (D's, G's, the simultaneous one) are training/updates.py, their speed
options training/accel.py; the run around the Trainer (cadences, checkpoints, signals) is training/run.py.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from gan_cli import checkpoint, models, objectives, optim, seeds
from gan_cli.config import Config, to_dict
from gan_cli.data import Dataset, EpochSampler, output_bias_from_marginals
from gan_cli.data.fingerprint import fingerprint
from gan_cli.training import accel, nan_guard
from gan_cli.training.updates import DUpdate, EagerUpdates

METRIC_KEYS = ("value", "d_real", "d_fake", "d_loss", "g_loss")
TOY_PICTURE_SAMPLES = 5_000


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global RNGs (numpy takes the seed mod 2^32)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def budget_steps(cfg: Config, batches_per_epoch: int) -> int:
    """Generator updates to run: train.steps, else epochs * (batches per epoch / batches per step)."""
    if cfg.train.steps is not None:
        return cfg.train.steps
    assert cfg.train.epochs is not None
    per_step = cfg.train.k if cfg.train.update == "alternating" else 1
    return max(1, (cfg.train.epochs * batches_per_epoch) // per_step)


@dataclass
class Accumulator:
    """Sums of per-step metrics kept on the device; read (one host sync) once per log interval."""

    device: torch.device
    sums: torch.Tensor = field(init=False)
    count: int = 0

    def __post_init__(self) -> None:
        self.sums = torch.zeros(len(METRIC_KEYS), device=self.device)

    def add(self, values: torch.Tensor) -> None:
        self.sums += values
        self.count += 1

    def read(self) -> dict[str, float]:
        means = (self.sums / max(self.count, 1)).tolist()
        self.sums.zero_()
        self.count = 0
        return dict(zip(METRIC_KEYS, means))


def with_lr(cfg: Config, lr: float) -> Config:
    """`cfg` with train.optimizer.lr replaced (the schedules read the lr from the config)."""
    opt = dataclasses.replace(cfg.train.optimizer, lr=lr)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, optimizer=opt))


class Trainer:
    """Owns G, D, their optimizers, the data order and the counters of one run."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        self.dataset = dataset
        seed_everything(
            seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_GLOBAL)
        )  # G and D init, then noise and dropout
        bias = output_bias_from_marginals(dataset.train) if cfg.generator.output_bias == "marginals" else None
        g, d = models.build(cfg, dataset.dim, bias)
        self.G, self.D = g.to(device), d.to(device)
        self.opt_g = optim.build(cfg.train.optimizer, self.G.parameters())
        self.opt_d = optim.build(optim.for_discriminator(cfg.train.optimizer), self.D.parameters())
        ema = cfg.train.ema  # a moving average of G's weights, or None (train.ema.decay null: the paper)
        self.ema = optim.WeightEMA(self.G, ema.decay, ema.rampup) if ema.decay is not None else None
        self.train_data = dataset.train.to(device)
        self.data_fingerprint = fingerprint(dataset)  # a resume or an eval tells the data's files changed
        self.data_info = {
            "dim": dataset.dim,
            "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
            "value_range": list(dataset.value_range) if dataset.value_range else None,
            "fingerprint": self.data_fingerprint,
        }
        # the data order has its own generator, seeded apart from the model's
        self.sampler = EpochSampler(
            len(self.train_data),
            cfg.train.batch_size,
            seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_DATA_ORDER),
            device,
        )
        self.step = 0  # generator updates so far
        self.d_updates = 0
        self.elapsed = 0.0  # wall seconds over all sessions of this run
        self.evaluation_s = 0.0  # the part of them spent on pictures and model selection
        self.acc = Accumulator(device)
        self.lr = self.momentum = 0.0
        self.base_lr = cfg.train.optimizer.lr  # the config's lr; NaN rollbacks run at base_lr * lr_scale
        self.lr_scale = 1.0
        self.nan_rollbacks = 0
        self.budget_schedule_epoch: int | None = None  # the epoch at whose end lr_schedule.start_at_budget started
        self.last_saved_step: int | None = None  # step of the newest checkpoint written or resumed from
        gen = torch.Generator().manual_seed(seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_FIXED_NOISE))
        # toy pictures estimate a density, so they need far more points than an image grid
        n_fixed = cfg.log.picture_samples if dataset.is_image else max(cfg.log.picture_samples, TOY_PICTURE_SAMPLES)
        self.fixed_noise = models.sample_noise(
            n_fixed, cfg.noise.dim, cfg.noise.prior, cfg.noise.scale, torch.device("cpu"), gen
        ).to(device)
        options = accel.StepOptions(cfg, device, self.G, self.D)  # compile / bf16 / CUDA graphs, checked here
        eager = EagerUpdates(options, self.G, self.D, self.opt_g, self.opt_d, self.train_data, self.noise, cfg.train)
        self.fast = accel.FastUpdates(cfg, eager)

    # ------------------------------------------------------------ the step

    def noise(self, n: int) -> torch.Tensor:
        """n noise vectors z ~ p_z (noise.prior, noise.scale), drawn from the global torch RNG."""
        c = self.cfg.noise
        return models.sample_noise(n, c.dim, c.prior, c.scale, self.device)

    @property
    def completed_epochs(self) -> int:
        """Full passes over the training set so far."""
        s = self.sampler
        return s.epoch + (1 if s.position == s.batches_per_epoch else 0)

    @property
    def epoch(self) -> int:
        """1-based epoch of the next batch (the paper's momentum schedule counts epochs from 1)."""
        s = self.sampler
        return s.epoch + (2 if s.position == s.batches_per_epoch else 1)

    def _schedule(self) -> None:
        """Set both optimizers' lr (by their update counts; D's times d_lr_scale) and momentum (by epoch)
        for the next update."""
        cfg = optim.resolved(self.cfg.train.optimizer, self.budget_schedule_epoch)
        epoch = self.epoch
        optim.apply_schedule(self.opt_d, optim.for_discriminator(cfg), self.d_updates, epoch)
        self.lr, self.momentum = optim.apply_schedule(self.opt_g, cfg, self.step, epoch)  # logged: G's

    def train_step(self) -> None:
        """One iteration of Algorithm 1 (train.update alternating: k discriminator updates, then one
        generator update) or of the released code (simultaneous); then G's average, if kept."""
        self.G.train()
        self.D.train()
        t = self.cfg.train
        with self.fast.step() as updates:
            if t.update == "simultaneous":
                self._schedule()
                # update D and G from one fake batch S = G(z) and the same D passes: D ascends
                # log D(x) + log(1 - D(S)), G descends its loss on D(S); both gradients are taken
                # before either net moves
                real_logits, fake_logits, d_loss, g_loss = updates.simultaneous(self.sampler.next())
                self.d_updates += 1
            else:
                for _ in range(t.k):
                    self._schedule()
                    # update D: ascend log D(x) + log(1 - D(G(z))) on m fresh examples and m fresh z
                    real_logits, fake_logits, d_loss = updates.discriminator(self.sampler.next())
                    self.d_updates += 1
                self._schedule()
                # update G: descend log(1 - D(G(z))) (minimax), or ascend log D(G(z)) (non_saturating)
                g_loss = updates.generator()
            self._record(real_logits, fake_logits, d_loss, g_loss)
        self.step += 1
        if self.ema is not None:
            # average G's iterates: w_ema <- beta_t w_ema + (1 - beta_t) w_G (D still plays the raw G)
            self.ema.update()

    def _record(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor, d_loss: torch.Tensor, g_loss: torch.Tensor
    ) -> None:
        """Add this step's metrics to the device-side sums (no host sync)."""
        v = objectives.value(real_logits, fake_logits)
        self.acc.add(
            torch.stack([v, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(), d_loss, g_loss])
        )

    def discriminator_step(self) -> DUpdate:
        """One D update outside the loop (no schedule, eager) on a fresh data batch and fresh noise."""
        out = self.fast.eager.discriminator(self.sampler.next())
        self.d_updates += 1
        return out

    def generator_step(self) -> torch.Tensor:
        """One G update outside the loop (no schedule, eager) on fresh noise, through D as it is now."""
        return self.fast.eager.generator()

    @property
    def eval_G(self) -> torch.nn.Module:
        """The G that sampling, evaluation and model selection use: G's moving average when
        train.ema is on, else G itself."""
        return self.ema.average if self.ema is not None else self.G

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        extra = {"ema": self.ema.state_dict()} if self.ema is not None else {}
        return checkpoint.make_checkpoint(
            step=self.step,
            epoch=self.sampler.fractional_epoch,
            config=to_dict(self.cfg),
            generator=self.G.state_dict(),
            discriminator=self.D.state_dict(),
            opt_g=self.opt_g.state_dict(),
            opt_d=self.opt_d.state_dict(),
            schedule={
                "d_updates": self.d_updates,
                "g_updates": self.step,
                "elapsed": self.elapsed,
                "evaluation_s": self.evaluation_s,
                "lr_scale": self.lr_scale,
                "nan_rollbacks": self.nan_rollbacks,
                "budget_schedule_epoch": self.budget_schedule_epoch,
            },
            # sums of the log window in progress, so a resumed run logs the same rows
            accumulator={"sums": self.acc.sums.detach().cpu().clone(), "count": self.acc.count},
            data_order=self.sampler.state_dict(),
            rng=checkpoint.capture_rng(),
            data_info=self.data_info,
            torch_version=str(torch.__version__),
            **extra,
        )

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        self.G.load_state_dict(ckpt["generator"])
        self.D.load_state_dict(ckpt["discriminator"])
        if self.ema is not None:
            if "ema" in ckpt:
                self.ema.load_state_dict(ckpt["ema"])
            else:  # train.ema turned on at a resume: the average starts from the loaded G
                self.ema = optim.WeightEMA(self.G, self.ema.decay, self.ema.rampup)
        optim.load_state(self.opt_g, ckpt["opt_g"])
        optim.load_state(self.opt_d, ckpt["opt_d"])
        self.step = int(ckpt["step"])
        sched = ckpt.get("schedule", {})
        self.d_updates = int(sched.get("d_updates", self.step))
        self.elapsed = _seconds(sched, "elapsed")
        self.evaluation_s = _seconds(sched, "evaluation_s")
        if self.evaluation_s > self.elapsed:
            raise ValueError(f"schedule.evaluation_s {self.evaluation_s} exceeds schedule.elapsed {self.elapsed}")
        self.nan_rollbacks = int(sched.get("nan_rollbacks", 0))
        started = sched.get("budget_schedule_epoch")
        self.budget_schedule_epoch = int(started) if started is not None else None
        lr_scale = float(sched.get("lr_scale", 1.0))
        if not 0 < lr_scale < math.inf or self.nan_rollbacks < 0 or (self.budget_schedule_epoch or 0) < 0:
            raise ValueError(
                "schedule: lr_scale must be positive and finite, nan_rollbacks and budget_schedule_epoch not negative"
            )
        self.set_lr_scale(lr_scale)
        acc = ckpt.get("accumulator")
        if acc is not None:
            self.acc.sums.copy_(acc["sums"].to(self.acc.sums.device))
            self.acc.count = int(acc["count"])
        self.last_saved_step = self.step
        if "data_order" in ckpt:
            self.sampler.load_state_dict(ckpt["data_order"])
        if "rng" in ckpt:
            checkpoint.restore_rng(ckpt["rng"])

    def set_lr_scale(self, scale: float) -> None:
        """Train from now on at the config's lr times `scale` (NaN rollbacks shrink it)."""
        self.lr_scale = scale
        self.cfg = with_lr(self.cfg, self.base_lr * scale)

    def roll_back(self, plan: nan_guard.Rollback) -> None:
        """Reload the checkpoint a NaN rollback chose (on the CPU, as on resume); train on at its lr scale."""
        self.load_state_dict(checkpoint.load(plan.checkpoint))
        self.fast.forget_captured()
        self.nan_rollbacks = plan.count
        self.set_lr_scale(plan.lr_scale)

    def fixed_samples(self) -> torch.Tensor:
        """G (eval mode) on the fixed picture noise."""
        with models.eval_mode(self.G):
            return self.G(self.fixed_noise)


def _seconds(schedule: dict[str, Any], key: str) -> float:
    """A checkpoint's schedule.KEY as seconds: finite and not negative (the time budget counts on it;
    NaN would switch train.max_minutes off, a negative value would lengthen it)."""
    value = float(schedule.get(key, 0.0))
    if not 0.0 <= value < math.inf:
        raise ValueError(f"schedule.{key} is {value}, not a number of seconds")
    return value
