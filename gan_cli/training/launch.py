"""`gan train CONFIG.yaml --nproc N`: N training processes on this machine, started by torchrun's launcher.

This process becomes torchrun's elastic agent (torch.distributed.launcher, the code behind
`torchrun --standalone --nproc-per-node N`): it starts N workers running `python -m gan_cli train
...` with RANK, WORLD_SIZE and LOCAL_RANK set, watches them, and stops them all when one fails or
when it is signalled. What it adds to torchrun: the run directory is chosen before the workers
start (so every message can name it), the agent's own logging is silenced, and the outcome is one
line and an exit code, as for every `gan` command:

- every worker done: 0 (rank 0 printed the run's lines);
- Ctrl-C / SIGTERM here: the agent passes the signal to every worker, they stop after the same
  step, rank 0 writes one checkpoint, all exit 130; then this process exits 130;
- a worker failed: the agent stops the others (SIGTERM, SIGKILL after SHUTDOWN_TIMEOUT_S); a
  failure rank 0 has already reported (exit 1) is not repeated, anything else (a rank killed, a
  crash) is reported here with the run's last checkpoint; exit 1.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import uuid
from pathlib import Path

import torch
from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from gan_cli import checkpoint, devices
from gan_cli import config as config_mod
from gan_cli.errors import GanError
from gan_cli.training.ranks import LAUNCHED_ENV

SHUTDOWN_TIMEOUT_S = 30  # seconds the agent waits for signalled workers (a checkpoint) before SIGKILL
MONITOR_INTERVAL_S = 0.1  # how often the agent looks at its workers


def _worker_args(config_path: Path | None, overrides: list[str], out: Path | None, resume: bool, device: str | None, seed: int | None, dry_run: bool) -> list[str]:
    """`-m gan_cli train ...` for every worker: the user's arguments, without --nproc. (A new option
    of `gan train` that workers need is forwarded here.)"""
    args = ["-m", "gan_cli", "train"]
    if config_path is not None:
        args.append(str(config_path))
    for item in overrides:
        args += ["--set", item]
    if out is not None:
        args += ["--out", str(out)]
    if resume:
        args.append("--resume")
    if device is not None:
        args += ["--device", device]
    if seed is not None:
        args += ["--seed", str(seed)]
    if dry_run:
        args.append("--dry-run")
    return args


def _check_gpus(nproc: int, device: str) -> None:
    """One GPU per process: refuse more processes than GPUs before starting any."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        devices.select("cuda")  # the usual message where CUDA is absent
        count = torch.cuda.device_count()
        if nproc > count:
            raise GanError(f"--nproc {nproc}: this machine has {count} CUDA device(s), one per process; use at most --nproc {count}, or --device cpu")


def _quiet_agent() -> None:
    """The agent logs every step of its life on stderr; the outcome is reported here instead."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def launch(
    nproc: int,
    config_path: Path | None,
    overrides: list[str],
    out: Path | None,
    resume: bool,
    device: str | None,
    seed: int | None,
    dry_run: bool,
) -> int:
    """Start `nproc` workers of `gan train` and wait for them; the exit code. Raises GanError."""
    made_run_dir = False
    if config_path is not None:
        # the config's errors once, here, rather than once per worker; and the run directory's name
        extra = overrides + ([f"seed={seed}"] if seed is not None else []) + ([f"device={device}"] if device is not None else [])
        cfg = config_mod.load(config_path, extra)
        _check_gpus(nproc, cfg.device)
        if out is None and not resume and not dry_run:
            out, made_run_dir = checkpoint.default_run_dir(cfg.name), True
    run_dir = out

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # the cores, shared
    os.environ[LAUNCHED_ENV] = "1"
    launch_config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"gan-{uuid.uuid4().hex[:12]}",
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",  # a free port, as torchrun --standalone
        max_restarts=0,
        monitor_interval=MONITOR_INTERVAL_S,
        logs_specs=DefaultLogsSpecs(log_dir=os.devnull),
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    args = _worker_args(config_path, overrides, out, resume, device, seed, dry_run)
    _quiet_agent()
    try:
        elastic_launch(launch_config, sys.executable)(*args)
        return 0
    except SignalException:
        return 130  # every worker was signalled; rank 0 printed where the checkpoint is
    except ChildFailedError as exc:
        return _report(exc, run_dir, nproc)
    finally:
        if made_run_dir and run_dir is not None and not checkpoint.is_nonempty_dir(run_dir):
            try:
                run_dir.rmdir()  # the workers stopped before writing anything
            except OSError:
                pass


def _report(exc: ChildFailedError, run_dir: Path | None, nproc: int) -> int:
    """The exit code for failed workers, and one line about them unless a worker has spoken already:
    rank 0 reports its own errors (and the setup errors of every rank), any rank its own GanError, a
    crash its traceback; a rank killed by a signal cannot, so it is reported here."""
    codes = {rank: failure.exitcode for rank, failure in exc.failures.items()}
    killed = sorted(
        (f.timestamp, rank, f) for rank, f in exc.failures.items() if f.exitcode < 0 and f.exitcode != -signal.SIGTERM
    )  # SIGTERM is how the agent stops the others
    if not killed:
        if codes.get(0) == 130:
            return 130
        if 1 in codes.values():
            return 1
    _, rank, first = killed[0] if killed else (0, *exc.get_first_failure())
    how = f"was killed by {first.signal_name()}" if first.exitcode < 0 else f"exited with code {first.exitcode}"
    where = "no checkpoint was written"
    if run_dir is not None:
        last = checkpoint.checkpoint_dir(run_dir) / "last.pt"
        if last.is_file():
            try:
                step = checkpoint.load(last)["step"]
                where = f"the last good checkpoint is {last} (step {step}): resume with gan train --resume {run_dir} --nproc {nproc}"
            except GanError as load_error:
                where = f"the last checkpoint does not load: {load_error}"
    print(f"error: training process rank {rank} (pid {first.pid}) {how}; the other processes were stopped; {where}", file=sys.stderr, flush=True)
    return 1
