"""`gan train CONFIG.yaml --nproc N`: N training processes on this machine, started by torchrun's launcher.

This process becomes torchrun's elastic agent (torch.distributed.launcher, the code behind
`torchrun --standalone --nproc-per-node N`): it starts N workers running `python -m gan_cli train
...` with RANK, WORLD_SIZE and LOCAL_RANK set, watches them, and stops them all when one fails or
when it is signalled. What it adds to torchrun: the run directory is chosen before the workers
start (so every message can name it), the agent's own logging is silenced, and the outcome is one
line and an exit code, as for every `gan` command:

- every worker done: 0 (rank 0 printed the run's lines);
- Ctrl-C, SIGTERM or another stop signal here (gan_cli/stop_signals.py): the agent passes the
  signal to every worker, they stop after the same step, rank 0 writes one checkpoint, all exit
  130; then this process exits 130;
- a worker failed: the agent stops the others (SIGTERM, SIGKILL after SHUTDOWN_TIMEOUT_S); a
  failure rank 0 has already reported (exit 1) is not repeated, anything else (a rank killed, a
  crash) is reported here with the run's last checkpoint; exit 1.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import shutil
import signal
import sys
import uuid

import torch
from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from gan_cli import checkpoint, devices, stop_signals
from gan_cli import config as config_mod
from gan_cli import run_dir as run_dir_mod
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir
from gan_cli.training.options import TrainOptions
from gan_cli.training.ranks import LAUNCHED_ENV

SHUTDOWN_TIMEOUT_S = 30  # seconds the agent waits for signalled workers (a checkpoint) before SIGKILL
MONITOR_INTERVAL_S = 0.1  # how often the agent looks at its workers


def worker_argv(options: TrainOptions) -> list[str]:
    """`-m gan_cli train --worker-options JSON` for every worker: the whole options object, less --nproc."""
    return ["-m", "gan_cli", "train", "--worker-options", dataclasses.replace(options, nproc=None).to_json()]


def _check_gpus(nproc: int, device: str) -> None:
    """One GPU per process: refuse more processes than GPUs before starting any."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        devices.select("cuda")  # the usual message where CUDA is absent
        count = torch.cuda.device_count()
        if nproc > count:
            raise GanError(
                f"--nproc {nproc}: this machine has {count} CUDA device(s), one per process; use at most --nproc {count}, or --device cpu"
            )


def _quiet_agent() -> None:
    """The agent logs every step of its life on stderr; the outcome is reported here instead."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def launch(options: TrainOptions) -> int:
    """Start `options.nproc` workers of `gan train` and wait for them; the exit code. Raises GanError."""
    nproc = options.nproc or 1
    made_run_dir = False
    if options.config is not None:
        # the config's errors once, here, rather than once per worker; and the run directory's name
        cfg = config_mod.load(options.config, options.config_overrides())
        _check_gpus(nproc, cfg.device)
        if options.out is None and not options.resume and not options.dry_run:
            options, made_run_dir = dataclasses.replace(options, out=run_dir_mod.default(cfg.name).path), True
    run_dir = RunDir(options.out) if options.out is not None else None

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
        signals_to_handle=stop_signals.elastic_agent_signals(),  # passed on to every worker, which checkpoints
    )
    args = worker_argv(options)
    _quiet_agent()
    try:
        elastic_launch(launch_config, sys.executable)(*args)
        return 0
    except SignalException:
        return 130  # every worker was signalled; rank 0 printed where the checkpoint is
    except ChildFailedError as exc:
        return _report(exc, run_dir, nproc)
    finally:
        if made_run_dir and run_dir is not None and not run_dir.is_nonempty():
            try:
                shutil.rmtree(run_dir.path)  # the workers stopped before writing anything
            except OSError:
                pass


def _report(exc: ChildFailedError, run_dir: RunDir | None, nproc: int) -> int:
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
        last = run_dir.last
        if last.is_file():
            try:
                step = checkpoint.load(last)["step"]
                where = f"the last good checkpoint is {last} (step {step}): resume with gan train --resume {shlex.quote(str(run_dir.path))} --nproc {nproc}"
            except GanError as load_error:
                where = f"the last checkpoint does not load: {load_error}"
    print(
        f"error: training process rank {rank} (pid {first.pid}) {how}; the other processes were stopped; {where}",
        file=sys.stderr,
        flush=True,
    )
    return 1
