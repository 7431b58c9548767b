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
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np
import torch

from gan_cli import checkpoint, models, objectives, optim, runlog
from gan_cli.config import Config, to_dict
from gan_cli.data import Dataset, EpochSampler, output_bias_from_marginals
from gan_cli.training import accel, nan_guard
from gan_cli.training.nan_guard import NonFiniteError

METRIC_KEYS = ("value", "d_real", "d_fake", "d_loss", "g_loss")
METRICS_FILE = "metrics.jsonl"
DATA_ORDER_SEED_OFFSET = 1_000_003  # the data order has its own generator, seeded apart from the model's
SAMPLE_NOISE_SEED_OFFSET = 2_000_003
TOY_PICTURE_SAMPLES = 5_000


def seed_everything(seed: int) -> None:
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
        seed_everything(cfg.seed)
        bias = output_bias_from_marginals(dataset.train) if cfg.generator.output_bias == "marginals" else None
        g, d = models.build(cfg, dataset.dim, bias)
        self.G, self.D = g.to(device), d.to(device)
        self.opt_g = optim.build(cfg.train.optimizer, self.G.parameters())
        self.opt_d = optim.build(cfg.train.optimizer, self.D.parameters())
        ema = cfg.train.ema  # a moving average of G's weights, or None (train.ema.decay null: the paper)
        self.ema = optim.WeightEMA(self.G, ema.decay, ema.rampup) if ema.decay is not None else None
        self.train_data = dataset.train.to(device)
        self.data_info = {
            "dim": dataset.dim,
            "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
            "value_range": list(dataset.value_range) if dataset.value_range else None,
        }
        self.sampler = EpochSampler(len(self.train_data), cfg.train.batch_size, cfg.seed + DATA_ORDER_SEED_OFFSET, device)
        self.step = 0  # generator updates so far
        self.d_updates = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.acc = Accumulator(device)
        self.lr = self.momentum = 0.0
        self.base_lr = cfg.train.optimizer.lr  # the config's lr; NaN rollbacks run at base_lr * lr_scale
        self.lr_scale = 1.0
        self.nan_rollbacks = 0
        self.last_saved_step: int | None = None  # step of the newest checkpoint written or resumed from
        gen = torch.Generator().manual_seed(cfg.seed + SAMPLE_NOISE_SEED_OFFSET)
        # toy pictures estimate a density, so they need far more points than an image grid
        n_fixed = cfg.log.num_samples if dataset.is_image else max(cfg.log.num_samples, TOY_PICTURE_SAMPLES)
        self.fixed_noise = models.sample_noise(n_fixed, cfg.noise.dim, cfg.noise.prior, cfg.noise.scale, torch.device("cpu"), gen).to(device)
        # compile / bf16 / CUDA graphs, checked here
        options = accel.StepOptions(cfg, device, self.G, self.D)  # compile / bf16 / CUDA graphs, checked here
        eager = accel.EagerUpdates(options, self.G, self.D, self.opt_g, self.opt_d, self.train_data, self.noise, cfg.train)
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
        """Set both optimizers' lr (by their update counts) and momentum (by epoch) for the next update."""
        cfg = self.cfg.train.optimizer
        epoch = self.epoch
        self.lr, self.momentum = optim.apply_schedule(self.opt_d, cfg, self.d_updates, epoch)
        optim.apply_schedule(self.opt_g, cfg, self.step, epoch)

    def train_step(self) -> None:
        """One generator update (and the discriminator updates that precede or accompany it)."""
        self.G.train()
        self.D.train()
        with self.fast.step() as updates:
            self._iteration(updates)
        self.step += 1
        if self.ema is not None:
            # average G's iterates: w_ema <- beta_t w_ema + (1 - beta_t) w_G (D still plays the raw G)
            self.ema.update()

    def _iteration(self, updates: accel.Updates) -> None:
        """One iteration of Algorithm 1 (train.update alternating) or of the released code (simultaneous)."""
        t = self.cfg.train
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

    def _record(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        """Add this step's metrics to the device-side sums (no host sync)."""
        v = objectives.value(real_logits, fake_logits)
        self.acc.add(torch.stack([v, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(), d_loss, g_loss]))

    def discriminator_step(self) -> accel.DUpdate:
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
                "lr_scale": self.lr_scale,
                "nan_rollbacks": self.nan_rollbacks,
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
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self.step = int(ckpt["step"])
        sched = ckpt.get("schedule", {})
        self.d_updates = int(sched.get("d_updates", self.step))
        self.elapsed = float(sched.get("elapsed", 0.0))
        self.nan_rollbacks = int(sched.get("nan_rollbacks", 0))
        self.set_lr_scale(float(sched.get("lr_scale", 1.0)))
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


# ---------------------------------------------------------------- the run


class Interrupt:
    """SIGINT/SIGTERM: the first asks the loop to checkpoint and stop; a second exits at once.

    A repeat within `repeat_s` seconds of the first counts as the first (several processes: a
    scheduler may signal every process, and torchrun passes its own signal on again)."""

    def __init__(self, repeat_s: float = 0.0) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}
        self.repeat_s, self._first_at = repeat_s, 0.0

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and time.monotonic() - self._first_at < self.repeat_s:
            return
        if self.requested is not None:
            # second signal: leave now; atomic writes mean no file is left half-written
            os.write(2, b"\ninterrupted again: exiting at once; checkpoints/last.pt is the last completed checkpoint\n")
            os._exit(130)
        self.requested = signal.Signals(signum).name
        self._first_at = time.monotonic()

    def __enter__(self) -> "Interrupt":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Interrupted(Exception):
    """Training stopped on a signal after writing a checkpoint."""

    def __init__(self, signal_name: str, ckpt_path: Path) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.ckpt_path = ckpt_path


def save_checkpoint(trainer: Trainer, run_dir: Path, keep: int, write: bool = True) -> Path:
    """Write last.pt atomically; keep a periodic step_NNNNNNN.pt too (a hard link: no second write).

    Raises NonFiniteError, writing nothing, when a weight, optimizer state or pending loss is NaN/inf.
    With `write` False (a process of several that is not rank 0) it checks the same, writes nothing.
    """
    watched = nan_guard.watched_tensors(trainer.G, trainer.D, trainer.opt_g, trainer.opt_d, trainer.acc.sums)
    nan_guard.check_finite(watched, trainer.device, trainer.step, nan_guard.last_good(trainer.last_saved_step, run_dir))
    last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
    if not write:  # rank 0 writes it; this rank made the same NaN check, so every rank decides alike
        trainer.last_saved_step = trainer.step
        return last
    state = trainer.state_dict()
    checkpoint.atomic_save(state, last)
    trainer.last_saved_step = trainer.step
    if keep > 0:
        target = checkpoint.step_path(run_dir, trainer.step)
        tmp = target.with_name(f".{target.name}.link")
        try:
            if tmp.exists():
                tmp.unlink()
            os.link(last, tmp)
            os.replace(tmp, target)
        except OSError:
            checkpoint.atomic_save(state, target)
        checkpoint.prune(run_dir, keep)
    return last


class OneProcess:
    """The processes that train a run, as `run` sees them: here this one alone.

    gan_cli.training.ranks.Ranks stands in for several (torchrun): only rank 0 writes the
    run's files, and every rank stops after the same step when one of them is signalled.
    """

    writes = True  # this process writes metrics.jsonl and the checkpoints
    repeat_signal_s = 0.0  # a signal repeated within this many seconds counts once (see Interrupt)

    def stop(self, requested: str | None) -> str | None:
        """Called after every step with this process's pending signal name; the name to stop on now."""
        return requested


@dataclass(frozen=True)
class RunHooks:
    """What `run` calls back as training goes; each is optional. The loop decides when, from the
    config's log.* cadences; a hook only does its work."""

    on_log: Callable[[dict[str, Any]], None] | None = None
    """With each metrics row, once it is in metrics.jsonl (every log.every steps and at the end)."""
    on_samples: Callable[[Trainer], None] | None = None
    """Every log.samples_every steps and at the end (for the picture of G's fixed-noise samples)."""
    on_select: Callable[[Trainer], None] | None = None
    """After a step that completes an epoch divisible by log.select_every_epochs (off at 0), before
    that step's checkpoint (model selection)."""
    on_progress: Callable[[int], None] | None = None
    """After every step, with the step, once any checkpoint due at it is written."""
    on_rollback: Callable[[str], None] | None = None
    """After a train.nan_policy rollback, with a one-line note of what happened."""


def run(
    trainer: Trainer, run_dir: Path, total_steps: int, hooks: RunHooks | None = None, processes: OneProcess | None = None
) -> dict[str, Any] | None:
    """Train until `total_steps` generator updates, logging, drawing and checkpointing as configured.

    Returns the last metrics row. On SIGINT/SIGTERM: finishes the step, checkpoints, raises Interrupted.
    A NaN/inf found at a log row or before a checkpoint raises NonFiniteError (train.nan_policy stop)
    or rolls back to last.pt with a smaller lr (rollback). No checkpoint holding NaN is ever written.
    `processes` (default: this one alone) says whether this process writes and when all stop.
    """
    hooks = hooks or RunHooks()
    processes = processes or OneProcess()
    with Interrupt(processes.repeat_signal_s) as interrupt:
        while True:
            try:
                return _Session(trainer, run_dir, hooks, interrupt, processes).train(total_steps)
            except NonFiniteError as exc:
                if interrupt.requested:
                    raise
                _roll_back(trainer, run_dir, exc, hooks, processes.writes)


def _roll_back(trainer: Trainer, run_dir: Path, error: NonFiniteError, hooks: RunHooks, writes: bool = True) -> None:
    """nan_guard decides (stop re-raises `error`); the trainer reloads last.pt; later rows leave metrics.jsonl."""
    plan = nan_guard.decide_rollback(error, trainer.cfg.train, trainer.nan_rollbacks, trainer.lr_scale, trainer.last_saved_step, run_dir)
    bad_step = trainer.step
    trainer.roll_back(plan)
    if writes:
        runlog.rewind(run_dir / METRICS_FILE, trainer.step)
    if hooks.on_rollback:
        hooks.on_rollback(plan.note(bad_step, trainer.step, trainer.base_lr * trainer.lr_scale))


class _Session:
    """One pass of `run` from the trainer's current step (run starts another after a NaN rollback)."""

    def __init__(self, trainer: Trainer, run_dir: Path, hooks: RunHooks, interrupt: Interrupt, processes: OneProcess) -> None:
        self.trainer, self.run_dir, self.hooks, self.interrupt = trainer, run_dir, hooks, interrupt
        self.processes = processes
        self.log = trainer.cfg.log
        now = time.perf_counter()
        self.start = now - trainer.elapsed  # trainer.elapsed counts every session of the run
        self.window_start, self.window_first_step = now, trainer.step  # the log row being summed
        self.epochs_done = trainer.completed_epochs

    def train(self, total_steps: int) -> dict[str, Any] | None:
        tr, log, hooks = self.trainer, self.log, self.hooks
        last_row: dict[str, Any] | None = None
        with open(self.run_dir / METRICS_FILE if self.processes.writes else os.devnull, "a", encoding="utf-8") as metrics:
            while tr.step < total_steps:
                tr.train_step()
                step = tr.step
                done = step >= total_steps
                if step % log.every == 0 or done:
                    last_row = self._log_row(metrics)
                    if hooks.on_log:
                        hooks.on_log(last_row)
                if self._selection_due() and hooks.on_select:
                    hooks.on_select(tr)
                # the checkpoint comes before the picture: a picture must never cost a checkpoint
                if step % log.checkpoint_every == 0 or done:
                    self._checkpoint()
                if hooks.on_samples and (step % log.samples_every == 0 or done):
                    hooks.on_samples(tr)
                if hooks.on_progress:
                    hooks.on_progress(step)
                stop = self.processes.stop(self.interrupt.requested)  # every step, on every rank
                if stop and not done:
                    raise Interrupted(stop, self._checkpoint())
        return last_row

    def _log_row(self, metrics: TextIO) -> dict[str, Any]:
        """Read the window's means from the device (one sync), check them, write and return the row."""
        tr, t = self.trainer, self.trainer.cfg.train
        means = tr.acc.read()
        nan_guard.check_losses(means, tr.step, nan_guard.last_good(tr.last_saved_step, self.run_dir))
        now = time.perf_counter()
        tr.elapsed = now - self.start
        # the sampler's batch: train.batch_size, times the number of processes when there are several
        examples = (tr.step - self.window_first_step) * (t.k if t.update == "alternating" else 1) * tr.sampler.batch_size
        row = {
            "step": tr.step,
            "epoch": round(tr.sampler.fractional_epoch, 6),
            **means,
            "lr": tr.lr,
            "momentum": tr.momentum,
            "samples_per_s": examples / max(now - self.window_start, 1e-9),
            "time": round(tr.elapsed, 3),
        }
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        self.window_start, self.window_first_step = now, tr.step
        return row

    def _selection_due(self) -> bool:
        """Whether this step completed an epoch that model selection (log.select_every_epochs) checks."""
        epochs = self.trainer.completed_epochs
        if epochs == self.epochs_done:
            return False
        self.epochs_done = epochs
        every = self.log.select_every_epochs
        return every > 0 and epochs % every == 0

    def _checkpoint(self) -> Path:
        self.trainer.elapsed = time.perf_counter() - self.start
        return save_checkpoint(self.trainer, self.run_dir, self.log.keep, self.processes.writes)
