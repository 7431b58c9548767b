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

Only rank 0 writes (metrics, samples, checkpoints, selection); metrics are averaged over ranks at
each log row (one all-reduce). Each step reseeds the global RNG with a seed of (seed, rank, step),
so a resumed run, with the same number of processes or another, draws what an uninterrupted one
would. A signal on any rank stops every rank after the same step (an asynchronous all-reduce of the
signal, read one step later), and rank 0 writes the one checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import torch
import torch.distributed as dist

from gan_cli import checkpoint, devices
from gan_cli.config import Config, to_dict
from gan_cli.data import Dataset, EpochSampler
from gan_cli.errors import GanError
from gan_cli.training.loop import (
    DATA_ORDER_SEED_OFFSET,
    Accumulator,
    Interrupted,
    OneProcess,
    Trainer,
)
from gan_cli.training.nan_guard import NonFiniteError

LAUNCHED_ENV = "GAN_CLI_LAUNCHED"  # set by `gan train --nproc` (training/launch.py) for its workers
PARENT_POLL_S = 0.5  # how often a worker checks that its launcher is alive (seconds)

T = TypeVar("T")


def world_size_from_env() -> int:
    """WORLD_SIZE as torchrun sets it for its workers; 1 outside torchrun."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def step_seed(seed: int, rank: int, step: int) -> int:
    """The seed of rank `rank`'s random numbers in generator update `step` (a 64-bit hash of the three)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0])


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

    def __init__(self, num_examples: int, batch_size: int, world: int, rank: int, seed: int, device: torch.device) -> None:
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
        self.sampler = ShardedSampler(len(self.train_data), cfg.train.batch_size, world, rank, cfg.seed + DATA_ORDER_SEED_OFFSET, device)
        self.acc = RankMeanAccumulator(device, world=world)
        with torch.no_grad():  # as DDP does: rank 0's weights everywhere, whatever the init did
            for t in [*self.G.state_dict().values(), *self.D.state_dict().values()]:
                dist.broadcast(t, 0)
        # each optimizer step first averages its own net's gradient over the ranks (D's and G's apart)
        for opt in (self.opt_d, self.opt_g):
            params = [p for group in opt.param_groups for p in group["params"]]
            opt.register_step_pre_hook(lambda _opt, _args, _kwargs, params=params: average_gradients(params, world))

    def train_step(self) -> None:
        """One generator update, its noise and dropout drawn from a seed of (seed, rank, step)."""
        torch.manual_seed(step_seed(self.cfg.seed, self.rank, self.step))
        super().train_step()


def config_digest(cfg: Config) -> str:
    """A short hash of the experiment a rank resolved (where each node keeps its data may differ)."""
    resolved = to_dict(cfg)
    resolved["data"] = {k: v for k, v in resolved["data"].items() if k not in ("root", "download")}
    return hashlib.sha256(repr(resolved).encode()).hexdigest()[:16]


class Solo(OneProcess):
    """`gan train` in one process: what Ranks does for several, done the single-process way."""

    def device(self, name: str) -> torch.device:
        return devices.select(name)

    def trainer(self, cfg: Config, dataset: Dataset, device: torch.device) -> Trainer:
        return Trainer(cfg, dataset, device)

    def agree(self) -> None:
        """Several processes check that every one passed its setup; one has nothing to check."""

    def default_run_dir(self, name: str) -> Path:
        return checkpoint.default_run_dir(name)

    def note(self, cfg: Config) -> str:
        """A line for the banner and command.txt: the processes and the global batch ("" for one)."""
        return ""


class Ranks(OneProcess):
    """This process as rank `rank` of `world` (torchrun), and the collectives the run needs."""

    repeat_signal_s = 2.0  # a scheduler's signal to every process, then torchrun's copy of it: one request

    def __init__(self, rank: int, world: int, local_rank: int, control: Any) -> None:
        self.rank, self.world, self.local_rank = rank, world, local_rank
        self.control = control  # a gloo group for the small CPU collectives (setup, run dir, signals)
        self.agreed = False
        self._digest: str | None = None
        self._device = torch.device("cpu")
        self._stop_flag = torch.zeros(1, dtype=torch.int32)
        self._stop_work: Any = None

    @classmethod
    def join(cls) -> "Ranks":
        """Join the process group torchrun's environment describes (RANK, WORLD_SIZE, LOCAL_RANK, ...)."""
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available() and local_rank < torch.cuda.device_count():
            torch.cuda.set_device(local_rank)
        # CUDA tensors (gradients, metrics) go through nccl, CPU tensors through gloo
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return cls(rank, world, local_rank, dist.new_group(backend="gloo"))

    @property
    def writes(self) -> bool:  # type: ignore[override]
        return self.rank == 0

    # ------------------------------------------------------------ setup

    def device(self, name: str) -> torch.device:
        """This rank's device for the config's `device`: cuda:LOCAL_RANK (nccl) or the CPU (gloo)."""
        if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
            return torch.device("cpu")
        if name == "mps":
            raise GanError("device: mps cannot train with several processes (torch.distributed has no backend for it); use cuda or cpu")
        if name.startswith("cuda:"):
            raise GanError(f"device: {name} names one GPU, but each of the {self.world} processes takes its own (cuda:LOCAL_RANK); set device: cuda or auto")
        devices.select("cuda")  # the same message as one process when CUDA is absent
        count = torch.cuda.device_count()
        if self.local_rank >= count:
            raise GanError(f"device: the process with LOCAL_RANK {self.local_rank} has no GPU (this node has {count}): start at most {count} processes per node")
        return torch.device("cuda", self.local_rank)

    def trainer(self, cfg: Config, dataset: Dataset, device: torch.device) -> Trainer:
        self._digest, self._device = config_digest(cfg), device
        return DistributedTrainer(cfg, dataset, device, self.rank, self.world)

    def agree(self, error: str | None = None) -> None:
        """Every rank says whether its setup passed (one all_gather; once): on a failure every rank stops,
        rank 0 raising the first failing rank's message, the others exiting 1 without a word."""
        if self.agreed:
            return
        self.agreed = True
        outcomes: list[Any] = [None] * self.world
        dist.all_gather_object(outcomes, (error, self._digest), group=self.control)
        failed = [(r, e) for r, (e, _) in enumerate(outcomes) if e]
        if not failed and len({d for _, d in outcomes}) > 1:
            other = next(r for r, (_, d) in enumerate(outcomes) if d != outcomes[0][1])
            failed = [(0, f"rank {other} resolved another config than rank 0: start every process with the same CONFIG.yaml, --set and files")]
        if not failed:
            return
        if self.rank != 0:
            raise SystemExit(1)
        r, message = failed[0]
        raise GanError(message if r == 0 else f"rank {r}: {message}")

    def share(self, obj: T) -> T:
        """Rank 0's `obj` on every rank."""
        box = [obj]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def default_run_dir(self, name: str) -> Path:
        """runs/<name>-<time>, made by rank 0 once every rank's setup has passed, the same on every rank."""
        self.agree()
        made: str | None = None
        error: str | None = None
        if self.writes:
            try:
                made = str(checkpoint.default_run_dir(name))
            except GanError as exc:
                error = str(exc)
        made, error = self.share((made, error))
        if error or made is None:
            if self.writes:
                raise GanError(error or "cannot create the run directory")
            raise SystemExit(1)
        return Path(made)

    def note(self, cfg: Config) -> str:
        m = cfg.train.batch_size
        return (
            f"{self.world} processes (torchrun, {'nccl' if self._device.type == 'cuda' else 'gloo'}): global batch {self.world * m} = {self.world} x train.batch_size {m}; "
            f"each rank draws a disjoint shard of each batch and its own noise; D's and G's gradients averaged over ranks"
        )

    # ------------------------------------------------------------ training

    def stop(self, requested: str | None) -> str | None:
        """After each step: the signal to stop on, once any rank has one. Each rank's pending signal
        goes into an asynchronous all-reduce (max of signal numbers) that is read one step later,
        so every rank reads the same value after the same step and no step waits for it."""
        agreed: str | None = None
        if self._stop_work is not None:
            self._stop_work.wait()
            if int(self._stop_flag.item()) > 0:
                agreed = signal.Signals(int(self._stop_flag.item())).name
        self._stop_flag = torch.tensor([signal.Signals[requested].value if requested else 0], dtype=torch.int32)
        self._stop_work = dist.all_reduce(self._stop_flag, op=dist.ReduceOp.MAX, group=self.control, async_op=True)
        return agreed

    def finish(self) -> None:
        """Wait for the last step's signal exchange (at the end of a run)."""
        if self._stop_work is not None:
            self._stop_work.wait()
            self._stop_work = None

    def close(self) -> None:
        """Finish the run's collectives (the setup agreement, for a --dry-run) and leave the process group."""
        self.finish()
        if not self.agreed:
            self.agree()
        dist.destroy_process_group()


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


def yaml_comment(note: str) -> str:
    """The note as a comment at the top of config.yaml (the loader ignores it)."""
    return f"# {note}\n" if note else ""


# ---------------------------------------------------------------- a torchrun worker


def lost_contact(exc: BaseException) -> bool:
    """Whether `exc` is a collective failing because another process stopped or died."""
    text = str(exc)
    return isinstance(exc, dist.DistError) or any(
        s in text for s in ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "NCCL communicator was aborted")
    )


def watch_parent() -> None:
    """Stop this worker (SIGTERM to itself: checkpoint and exit, or at once if already stopping) when its
    launcher is gone, so no rank outlives the `gan train --nproc` or torchrun process that started it."""
    parent = os.getppid()

    def poll() -> None:
        while os.getppid() == parent:
            threading.Event().wait(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=poll, name="gan-parent-watch", daemon=True).start()


def as_worker(body: Callable[[Ranks], T]) -> T:
    """Run `body` as one rank of a torchrun job: join, run, leave; one message for the whole job.

    A GanError of the setup is reported once, by rank 0, for every rank (Ranks.agree); later, rank 0
    reports its own and the others report theirs prefixed with their rank (a NaN stop, which every
    rank meets together, only by rank 0). Interrupts exit 130 (rank 0 prints the resume command).
    A lost peer ends this rank at once with exit 1; under `gan train --nproc` the launcher says why.
    """
    ranks = Ranks.join()
    watch_parent()
    try:
        try:
            result = body(ranks)
        except GanError as exc:
            if not ranks.agreed:
                ranks.agree(str(exc))  # raises for this rank and every other
            if ranks.rank == 0:
                raise
            if isinstance(exc, NonFiniteError):
                raise SystemExit(1) from None
            raise GanError(f"rank {ranks.rank}: {exc}") from None
        except (Interrupted, KeyboardInterrupt):
            if ranks.rank == 0:
                raise
            raise SystemExit(130) from None
        ranks.close()
        return result
    except RuntimeError as exc:
        if not lost_contact(exc):
            raise
        if not os.environ.get(LAUNCHED_ENV):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            stamp = _dt.datetime.now().strftime("%H:%M:%S")
            print(
                f"error: rank {ranks.rank} lost contact with the other processes at {stamp} (one stopped or died: {first}); "
                f"the run directory's checkpoints/last.pt is the last good checkpoint",
                file=sys.stderr,
                flush=True,
            )
        sys.stdout.flush()
        os._exit(1)  # the process group is broken: leaving it cleanly could hang
    except BaseException:
        _leave(ranks)  # an orderly stop (error, interrupt): no gloo thread left to abort the exit
        raise


def _leave(ranks: Ranks) -> None:
    try:
        ranks.finish()
        if dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - leaving after an error: the error is what matters
        pass
