"""Ray: start or join a cluster, run trials as tasks with their CPUs and GPUs, stop them on Ctrl-C.

Each trial is one Ray task (gan_cli.commands.sweep.run_trial), so Ray's scheduler keeps as many trials running as the
resources allow. Ctrl-C (or SIGTERM) in the driver cancels the tasks: Ray delivers the cancel to
a running trial as SIGINT, which the training loop answers by finishing its step, writing
checkpoints/last.pt and stopping; queued trials never start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli import stop_signals
from gan_cli.errors import GanError, Stopped
from gan_cli.sweep.trial import FAILED, row

INSTALL_HINT = "pip install 'gan-cli[sweep]'"


def import_ray() -> Any:
    """The ray module, or a GanError naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise GanError(f"gan sweep runs its trials on Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass
class Cluster:
    """A Ray session: the module, where it runs, its CPUs and GPUs, and its start-up time (s)."""

    ray: Any
    where: str
    cpus: float
    gpus: float
    startup_s: float
    local: bool


def _package_path() -> str:
    """PYTHONPATH for local workers: the folder holding this gan_cli package, then the driver's."""
    here = str(Path(__file__).resolve().parents[2])
    old = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + old if old else "")


LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's own switch for a single machine: off, every Ray process binds 127.0.0.1 instead of the
machine's network address."""


def _loopback_only() -> None:
    """A local Ray on the loopback address: a sweep on one machine needs no network and exposes
    nothing on one. The environment reaches the Ray processes started from here; the constant is
    read by this process, which may have imported ray already."""
    from ray._private import ray_constants

    os.environ[LOOPBACK_SWITCH] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


@contextlib.contextmanager
def connect(address: str | None, num_cpus: int | None) -> Iterator[Cluster]:
    """Start a local Ray (address None; num_cpus None = every CPU) or join the cluster at `address`
    ('auto', 'HOST:6379' or 'ray://HOST:10001'); shut it down afterwards. A Ray that this process
    already started (ray.init in a test or a notebook) is used as it is and left running."""
    ray = import_ray()
    owned = not ray.is_initialized()
    start = time.perf_counter()
    if owned:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        saved = os.environ.get("PYTHONPATH")
        try:
            with _signals_wait() as pending:
                if address:
                    ray.init(address=address, **options)
                else:
                    # local workers inherit the environment of the Ray processes started here (cheaper than a runtime_env)
                    os.environ["PYTHONPATH"] = _package_path()
                    _loopback_only()
                    ray.init(num_cpus=num_cpus, **options)
            if pending:
                ray.shutdown()
                raise Stopped(
                    f"gan sweep interrupted by {pending[0]} while Ray was starting: Ray was stopped, no trial ran", 130
                )
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise GanError(
                f"cannot start {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    try:
        total = ray.cluster_resources()
        where = f"Ray cluster at {address}" if address else "local Ray"
        yield Cluster(
            ray, where, float(total.get("CPU", 0)), float(total.get("GPU", 0)), time.perf_counter() - start, not address
        )
    finally:
        if owned:
            ray.shutdown()


@contextlib.contextmanager
def _signals_wait() -> Iterator[list[str]]:
    """Hold the stop signals (gan_cli/stop_signals.py: Ctrl-C, SIGTERM, ...) while Ray starts (an
    interrupt inside ray.init left Ray's agents running and once crashed the process); the list
    receives their names, to act on afterwards. Child processes start with the default handlers
    (exec resets caught signals)."""
    pending: list[str] = []
    with _stop_signals_to(lambda signum, frame: pending.append(signal.Signals(signum).name)):
        yield pending


@contextlib.contextmanager
def _stop_signals_to(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """The stop signals go to `handler` in the body, SIGINT whatever this process inherited; main
    thread only (elsewhere nothing changes); the previous handlers come back after."""
    previous = stop_signals.install(handler)
    try:
        yield
    finally:
        stop_signals.restore(previous)


def check_address(address: str | None) -> None:
    """Refuse at once an --address where nothing listens (Ray itself retries for minutes)."""
    if address is None or address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise GanError(f"--address {address}: expected auto, HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:10001")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            speaks_grpc = _answers_http2(conn)
    except OSError as exc:
        raise GanError(
            f"--address {address}: nothing answers at {host}:{port} ({exc.strerror or exc}); is the Ray cluster up (ray start --head)?"
        ) from None
    if not speaks_grpc:
        raise GanError(
            f"--address {address}: something answers at {host}:{port}, but not Ray (Ray's head speaks gRPC there); "
            f"check the port (ray start --head prints it; 6379 by default, ray:// uses 10001)"
        )


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS
PROBE_TIMEOUT_S = 3.0


def _answers_http2(conn: socket.socket) -> bool:
    """Whether the server at `conn` answers an HTTP/2 client preface with a frame (gRPC servers,
    Ray's among them, send their SETTINGS frame first): a few bytes and seconds, where ray.init
    would retry for minutes against a port that is not Ray's."""
    try:
        conn.settimeout(PROBE_TIMEOUT_S)
        conn.sendall(HTTP2_PREFACE)
        head = b""
        while len(head) < 9:
            chunk = conn.recv(9 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:
        return False
    return head[3] == 0x04  # a SETTINGS frame


def check_fits(cluster: Cluster, cpus: float, gpus: float, local: bool) -> None:
    """A trial that needs more than the whole local Ray has would wait forever: refuse it now."""
    if not local:
        return  # a cluster may grow (autoscaler); Ray says so itself while a task waits
    if cpus > cluster.cpus:
        raise GanError(
            f"resources.cpus: a trial asks for {cpus:g} CPUs but the local Ray has {cluster.cpus:g} (lower it, or give --cpus)"
        )
    if gpus > cluster.gpus:
        raise GanError(
            f"resources.gpus: a trial asks for {gpus:g} GPUs but this machine has {cluster.gpus:g} (set resources.gpus: 0 to train on the CPU)"
        )


@contextlib.contextmanager
def _signals_stop_the_sweep() -> Iterator[None]:
    """The stop signals raise KeyboardInterrupt here, whatever Ray set (Ray's driver turns SIGTERM
    into sys.exit) or this process inherited of SIGINT (ignored in a background job)."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    with _stop_signals_to(handler):
        yield


def _outcome(ray: Any, ref: Any, p: dict[str, Any]) -> dict[str, Any] | None:
    """The trial's row; None for a trial cancelled before it began; a failed row when its worker died."""
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return None
    except ray.exceptions.RayError as exc:  # the worker process died (out of memory, killed), or Ray failed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return row(p, FAILED, f"{type(exc).__name__}: {first}")


PROGRESS_S = 300.0
"""Seconds without a finished trial after which the driver reports on the unfinished ones."""


def run_trials(
    cluster: Cluster,
    trial: Callable[[dict[str, Any]], dict[str, Any]],
    payloads: list[dict[str, Any]],
    cpus: float,
    gpus: float,
    on_row: Callable[[dict[str, Any]], None],
    on_stop: Callable[[int], None] = lambda running: None,
    on_wait: Callable[[list[dict[str, Any]]], None] = lambda unfinished: None,
    progress_s: float = PROGRESS_S,
) -> bool:
    """Run `trial` on every payload as a Ray task needing `cpus` CPUs and `gpus` GPUs; call `on_row` with each
    row as it arrives, and `on_wait` with the unfinished payloads after each `progress_s` seconds in
    which none finished. Returns True when Ctrl-C / SIGTERM stopped the sweep (after the running
    trials have checkpointed and reported), False when every trial finished."""
    ray = cluster.ray
    task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(trial)
    with _signals_stop_the_sweep():
        refs = {task.remote(p): p for p in payloads}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=progress_s)
                if not done:
                    on_wait(list(refs.values()))
                for ref in done:
                    outcome = _outcome(ray, ref, refs.pop(ref))
                    if outcome is not None:
                        on_row(outcome)
        except KeyboardInterrupt:
            on_stop(len(refs))
            for ref in refs:
                ray.cancel(ref)  # a running trial gets SIGINT: it checkpoints and returns
            for ref, p in refs.items():
                outcome = _outcome(ray, ref, p)
                if outcome is not None:
                    on_row(outcome)
            return True
    return False
