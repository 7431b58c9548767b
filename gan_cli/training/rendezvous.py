"""How the processes of a run find each other: the environment torchrun sets (RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT, LOCAL_RANK), checked with one message for what is missing, and outside
torchrun a meeting point bounded in time, so a stale environment never waits without end."""

from __future__ import annotations

import datetime as _dt
import math
import os

import torch.distributed as dist

from gan_cli.errors import GanError, shown


def world_size_from_env() -> int:
    """WORLD_SIZE as torchrun sets it for its workers; 1 outside torchrun."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
RENDEZVOUS_TIMEOUT_S = 120.0
"""Seconds a process started outside torchrun waits for the others (GAN_RENDEZVOUS_TIMEOUT_S)."""
TIMEOUT_VARIABLE = "GAN_RENDEZVOUS_TIMEOUT_S"
HIGHEST_PORT = 65535


def _is_whole(text: str) -> bool:
    """Whether `text` is a non-negative whole number in ASCII digits (str.isdigit alone lets through
    "²", which int() refuses)."""
    return text.isascii() and text.isdigit()


def _whole_number(name: str, default: str = "0") -> int:
    """The environment variable `name` as a non-negative whole number; a GanError naming it otherwise."""
    text = os.environ.get(name, default)
    if not _is_whole(text):
        raise GanError(f"the environment variable {name}={shown(text)} is not a whole number (torchrun sets it)")
    return int(text)


def rendezvous_timeout_s() -> float:
    """GAN_RENDEZVOUS_TIMEOUT_S in seconds (RENDEZVOUS_TIMEOUT_S when unset); a GanError naming the
    variable for anything but a positive, finite number."""
    text = os.environ.get(TIMEOUT_VARIABLE, "")
    if not text:
        return RENDEZVOUS_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= _dt.timedelta.max.total_seconds()):
        raise GanError(
            f"the environment variable {TIMEOUT_VARIABLE}={shown(text)} must be a positive number of seconds"
        )
    return seconds


def local_world_size(world: int) -> int:
    """LOCAL_WORLD_SIZE (the processes on this machine, as torchrun sets it), else `world`. Read
    when a resume hint is printed, after the training: a malformed value falls back, never fails."""
    text = os.environ.get("LOCAL_WORLD_SIZE", "")
    return int(text) if _is_whole(text) else world


def distributed_env() -> tuple[int, int, int]:
    """(RANK, WORLD_SIZE, LOCAL_RANK) from the environment; a GanError naming what is missing or wrong."""
    missing = [name for name in TORCHRUN_VARIABLES if not os.environ.get(name)]
    if missing:
        raise GanError(
            f"WORLD_SIZE={os.environ.get('WORLD_SIZE')} asks for several processes, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set: start them with torchrun or gan train --nproc N, "
            f"or unset {', '.join(TORCHRUN_VARIABLES)} (left from another job?)"
        )
    values = {name: _whole_number(name) for name in ("RANK", "WORLD_SIZE", "MASTER_PORT", "LOCAL_RANK")}
    if not values["RANK"] < values["WORLD_SIZE"]:
        raise GanError(f"RANK={values['RANK']} must be below WORLD_SIZE={values['WORLD_SIZE']}")
    if not 0 < values["MASTER_PORT"] <= HIGHEST_PORT:
        raise GanError(
            f"the environment variable MASTER_PORT={values['MASTER_PORT']} must be a port from 1 to {HIGHEST_PORT}"
        )
    rendezvous_timeout_s()  # checked here, before any work, though only a meeting outside torchrun uses it
    return values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"]


def meet(rank: int, world: int) -> dist.Store:
    """The processes' meeting point at MASTER_ADDR:MASTER_PORT (rank 0 hosts it), within a bounded time."""
    host, port = os.environ["MASTER_ADDR"], _whole_number("MASTER_PORT")
    timeout = rendezvous_timeout_s()
    try:
        return dist.TCPStore(
            host, port, world, is_master=rank == 0, timeout=_dt.timedelta(seconds=timeout), wait_for_workers=True
        )
    except (RuntimeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GanError(
            f"rank {rank} of {world} could not meet the other processes at {host}:{port} within {timeout:g} s ({first}); "
            f"start them with torchrun or gan train --nproc N, or unset {', '.join(TORCHRUN_VARIABLES)} if they are left from another job"
        ) from None
