"""The processes that train one run: this one alone (Solo), or rank r of torchrun's N (Ranks).

Only rank 0 writes the run directory (metrics, samples, checkpoints, selection); the others train
beside it. Before anything is written, every rank reports whether its setup passed (one
all_gather): an error on any rank stops all, and rank 0 prints it once. A signal on any rank stops
every rank after the same step (an asynchronous all-reduce of the signal, read one step later),
and rank 0 writes the one checkpoint. `as_worker` is a torchrun worker's entry: join, run, leave,
and one message for the whole job; a worker whose launcher dies stops itself.
The training maths of several processes is in training/distributed.py.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from gan_cli import devices, run_dir
from gan_cli.config import Config, to_dict
from gan_cli.data import Dataset
from gan_cli.errors import GanError
from gan_cli.training.distributed import DistributedTrainer
from gan_cli.training.loop import Trainer
from gan_cli.training.nan_guard import NonFiniteError
from gan_cli.training.rendezvous import distributed_env, local_world_size, meet
from gan_cli.training.run import BUDGET, Interrupted, OneProcess

LAUNCHED_ENV = "GAN_CLI_LAUNCHED"  # set by `gan train --nproc` (training/launch.py) for its workers
PARENT_POLL_S = 0.5  # how often a worker checks that its launcher is alive (seconds)

T = TypeVar("T")


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
        return run_dir.default(name).path

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
    def join(cls) -> Ranks:
        """Join the process group torchrun's environment describes (RANK, WORLD_SIZE, LOCAL_RANK, ...).

        Under torchrun its agent has met every process already; started some other way (a SLURM
        script, or variables left over from another job) the meeting is bounded by
        RENDEZVOUS_TIMEOUT_S, so a stale environment is one message, never a wait without end."""
        rank, world, local_rank = distributed_env()
        if torch.cuda.is_available() and local_rank < torch.cuda.device_count():
            torch.cuda.set_device(local_rank)
        # CUDA tensors (gradients, metrics) go through nccl, CPU tensors through gloo
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        if os.environ.get("TORCHELASTIC_RUN_ID"):
            dist.init_process_group(backend)
        else:
            dist.init_process_group(backend, store=meet(rank, world), rank=rank, world_size=world)
        return cls(rank, world, local_rank, dist.new_group(backend="gloo"))

    @property
    def writes(self) -> bool:  # type: ignore[override]
        return self.rank == 0

    @property
    def resume_flags(self) -> str:  # type: ignore[override]
        """` --nproc N` on one machine; across machines, the torchrun command is the one to repeat."""
        if local_world_size(self.world) == self.world:
            return f" --nproc {self.world}"
        return f"  # as one of {self.world} processes: run the same torchrun command with --resume on every node"

    # ------------------------------------------------------------ setup

    def device(self, name: str) -> torch.device:
        """This rank's device for the config's `device`: cuda:LOCAL_RANK (nccl) or the CPU (gloo)."""
        if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
            return torch.device("cpu")
        if name == "mps":
            raise GanError(
                "device: mps cannot train with several processes (torch.distributed has no backend for it); use cuda or cpu"
            )
        if name.startswith("cuda:"):
            raise GanError(
                f"device: {name} names one GPU, but each of the {self.world} processes takes its own (cuda:LOCAL_RANK); set device: cuda or auto"
            )
        devices.select("cuda")  # the same message as one process when CUDA is absent
        count = torch.cuda.device_count()
        if self.local_rank >= count:
            raise GanError(
                f"device: the process with LOCAL_RANK {self.local_rank} has no GPU (this node has {count}): start at most {count} processes per node"
            )
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
            failed = [
                (
                    0,
                    f"rank {other} resolved another config than rank 0: start every process with the same CONFIG.yaml, --set and files",
                )
            ]
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
                made = str(run_dir.default(name).path)
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
            code = int(self._stop_flag.item())  # 0 none, 1 the time budget, 1 + a signal's number (a signal wins)
            if code == 1:
                agreed = BUDGET
            elif code > 1:
                agreed = signal.Signals(code - 1).name
        code = 0 if not requested else 1 if requested == BUDGET else 1 + signal.Signals[requested].value
        self._stop_flag = torch.tensor([code], dtype=torch.int32)
        self._stop_work = dist.all_reduce(self._stop_flag, op=dist.ReduceOp.MAX, group=self.control, async_op=True)
        return agreed

    def agree_seconds(self, seconds: float) -> float:
        """The slowest rank's training seconds, the same on every rank (a blocking all-reduce, once
        an epoch and only while a schedule keyed to the time budget waits to start): each rank's
        own clock could start it one epoch apart and part their learning rates."""
        value = torch.tensor([seconds], dtype=torch.float64)
        dist.all_reduce(value, op=dist.ReduceOp.MAX, group=self.control)
        return float(value.item())

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


def yaml_comment(note: str) -> str:
    """The note as a comment at the top of config.yaml (the loader ignores it)."""
    return f"# {note}\n" if note else ""


# ---------------------------------------------------------------- a torchrun worker


def lost_contact(exc: BaseException) -> bool:
    """Whether `exc` is a collective failing because another process stopped or died."""
    text = str(exc)
    return isinstance(exc, dist.DistError) or any(
        s in text
        for s in (
            "Connection closed by peer",
            "Connection reset by peer",
            "Broken pipe",
            "NCCL communicator was aborted",
        )
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
                f"the run directory's checkpoints/last.pt, where one was written, is the last good checkpoint",
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
