"""Several processes train one GAN (torchrun): Algorithm 1 data-parallel, each net's gradient averaged.

With N processes (ranks) and train.batch_size m, one training step is the step of one process with
a batch of N*m: rank r takes rows [r*m, (r+1)*m) of each global batch of the epoch's permutation
(every rank draws the same permutation; the shards are disjoint) and draws its own noise and
dropout masks. Before each optimizer step the net being stepped has its gradient averaged:

    grad theta <- (1/N) sum_r grad_r theta,   grad_r = gradient of rank r's mean loss over m rows

which is the gradient of the mean loss over the N*m rows, so D's update, G's update and the
simultaneous update are those of one process with batch N*m (tests/test_distributed.py checks it
to 1e-5). D's and G's gradients are averaged separately, each by one all-reduce of the whole net's
gradient flattened into one buffer, run by the optimizer's step pre-hook (between backward and the
step, whatever update calls it).

Why not DistributedDataParallel's wrapper: G's update back-propagates through D. With D wrapped,
that pass arms D's gradient all-reduce; with D's weights frozen (as the G update does) the reducer
never completes and the next D step fails or hangs, and with them unfrozen the G step's gradients
reach D's buffers and get all-reduced into D (Lightning-AI/pytorch-lightning#20328). The
simultaneous update also takes two backward passes from one forward. Averaging at the optimizer
step has none of this: G's update computes no gradient for D (requires_grad off), so nothing is
reduced into D and every rank runs the same collectives in the same order. The cost is no overlap
of communication with the backward pass (see docs/distributed.md for the measurement).

Metrics are averaged over ranks at each log row (one all-reduce). Each step reseeds the global
RNG with a seed of (seed, rank, step), so a resumed run, with the same number of processes or
another, draws what an uninterrupted one would. The processes themselves (who writes, the setup
agreement, stopping together, a torchrun worker's entry) are in training/ranks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from gan_cli import seeds
from gan_cli.config import Config
from gan_cli.data import Dataset, EpochSampler
from gan_cli.errors import GanError
from gan_cli.training.loop import Accumulator, Trainer


def step_seed(cfg: Config, rank: int, step: int) -> int:
    """The seed of rank `rank`'s random numbers in generator update `step` (a 64-bit hash of the run's seed, the two and the stream)."""
    return seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_RANK_STEP, rank, step)


def average_gradients(params: list[torch.Tensor], world: int) -> None:
    """grad <- (1/world) sum over ranks of grad, for every parameter that has one: one all-reduce.

    Parameters without a gradient are left out (on every rank alike: all run the same update)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat.div_(world)
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


class ShardedSampler(EpochSampler):
    """EpochSampler over global batches of world*m; rank r serves rows [r*m, (r+1)*m) of each.

    Every rank draws the same permutation (same seed), so the shards of a step are disjoint and
    together are the batch one process with batch world*m would draw. `batch_size` is the global
    batch (batches_per_epoch counts global batches: an epoch is one pass over the data).
    """

    def __init__(
        self, num_examples: int, batch_size: int, world: int, rank: int, seed: int, device: torch.device
    ) -> None:
        if batch_size * world > num_examples:
            raise GanError(
                f"train.batch_size: {world} processes x {batch_size} = {batch_size * world} examples per step "
                f"is more than the {num_examples} training examples; lower train.batch_size or the number of processes"
            )
        super().__init__(num_examples, batch_size * world, seed, device)
        self.per_rank, self.rank = batch_size, rank

    def next(self) -> torch.Tensor:
        return super().next()[self.rank * self.per_rank : (self.rank + 1) * self.per_rank]


@dataclass
class RankMeanAccumulator(Accumulator):
    """The metric sums, averaged over ranks when a log row reads them (one all-reduce per row)."""

    world: int = 1

    def read(self) -> dict[str, float]:
        dist.all_reduce(self.sums)
        self.sums.div_(self.world)
        return super().read()


class DistributedTrainer(Trainer):
    """A Trainer that is one rank of several: sharded batches, its own noise, averaged gradients."""

    def __init__(self, cfg: Config, dataset: Dataset, device: torch.device, rank: int, world: int) -> None:
        if cfg.train.cuda_graphs:
            raise GanError(
                "train.cuda_graphs: not with several processes (the gradient all-reduce runs between backward "
                "and the optimizer step, outside any graph); set train.cuda_graphs: false"
            )
        super().__init__(cfg, dataset, device)  # every rank builds the same G and D from cfg.seed
        self.rank, self.world = rank, world
        self.sampler = ShardedSampler(
            len(self.train_data),
            cfg.train.batch_size,
            world,
            rank,
            seeds.run_seed(cfg.seed, cfg.seed_scheme, seeds.TRAIN_DATA_ORDER),
            device,
        )
        self.acc = RankMeanAccumulator(device, world=world)
        with torch.no_grad():  # as DDP does: rank 0's weights everywhere, whatever the init did
            for t in [*self.G.state_dict().values(), *self.D.state_dict().values()]:
                dist.broadcast(t, 0)
        # each optimizer step first averages its own net's gradient over the ranks (D's and G's apart)
        for opt in (self.opt_d, self.opt_g):
            params = [p for group in opt.param_groups for p in group["params"]]

            def average(_opt: Any, _args: Any, _kwargs: Any, params: list[torch.Tensor] = params) -> None:
                average_gradients(params, world)

            opt.register_step_pre_hook(average)

    def train_step(self) -> None:
        """One generator update, its noise and dropout drawn from a seed of (seed, rank, step)."""
        torch.manual_seed(step_seed(self.cfg, self.rank, self.step))
        super().train_step()


def data_order_note(trainer: Trainer, ckpt: dict[str, Any]) -> str:
    """For command.txt on resume: what happened to the data order when the global batch changed."""
    if not getattr(trainer.sampler, "restarted", False):
        return ""
    saved = tuple(ckpt["data_order"]["permutation"].shape)[1]
    return (
        f"; the checkpoint's data order was cut in global batches of {saved}, this run's are {trainer.sampler.batch_size} "
        f"(another number of processes), so the data order restarts at the epoch boundary: a fresh permutation from "
        f"epoch {trainer.completed_epochs + 1} on"
    )
