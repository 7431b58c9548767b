"""Device selection: `auto` picks cuda, then mps, then cpu; an absent device is a clear error."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator

import torch

from gan_cli import memory_limits
from gan_cli.errors import GanError


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select(
    name: str,
    cuda_available: Callable[[], bool] = torch.cuda.is_available,
    cuda_count: Callable[[], int] = torch.cuda.device_count,
    mps_available: Callable[[], bool] = _mps_available,
) -> torch.device:
    """The torch.device for a config's `device` value (auto | cpu | cuda | cuda:N | mps).

    The availability probes are parameters so the logic can be tested on a machine without GPUs.
    """
    if name == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not mps_available():
            raise GanError("device: mps was requested but is not available here (use device: auto or cpu)")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        if not cuda_available():
            raise GanError(f"device: {name} was requested but CUDA is not available here (use device: auto or cpu)")
        index = int(name[5:]) if name.startswith("cuda:") else 0
        if index >= cuda_count():
            raise GanError(f"device: {name} was requested but only {cuda_count()} CUDA device(s) exist")
        return torch.device(name)
    raise GanError(f"device: {name!r} is not one of auto, cpu, cuda, cuda:N, mps")


_NUMPY_ALLOC = re.compile(r"Unable to allocate ([\d.]+) ?([KMGTP]?i?B)")
_ALLOC = re.compile(r"(?:tried to allocate|Tried to allocate) ([\d.]+ ?[KMGT]?i?B|\d+ bytes)")


def out_of_memory(exc: BaseException) -> str | None:
    """For an allocator failure (CPU or GPU), the size it asked for ('40 TB', or 'memory' when the
    message does not say); None for any other error."""
    text = str(exc)
    if isinstance(exc, MemoryError):  # numpy's: "Unable to allocate 149. GiB for an array with shape ..."
        m = _NUMPY_ALLOC.search(text)
        return f"{float(m.group(1)):g} {m.group(2)}" if m else "memory"
    if not (isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in text or "out of memory" in text):
        return None
    m = _ALLOC.search(text)
    if m is None:
        return "memory"
    size = m.group(1)
    return human_bytes(float(size.split()[0])) if size.endswith(" bytes") else size


def human_bytes(n: float) -> str:
    """'31.4 GB' (powers of 1000), or '512 bytes'; sizes past a float (a hostile header's) in whole PB."""
    if n >= 1000**6:
        return f"{int(n) // 1000**5:,} PB"  # integer arithmetic: n may be too large for a float
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def machine_memory() -> int | None:
    """Bytes of the machine's memory a new allocation can have now (Linux: MemAvailable, which
    counts the page cache the kernel would give back); None where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _memory_and_limit() -> tuple[int | None, str]:
    """The bytes this process may allocate now, and the limit that sets them ("" for the machine's
    memory): the machine's available memory, or a container's or shell's limit where tighter."""
    machine, limit = machine_memory(), memory_limits.tightest()
    if limit is not None and (machine is None or limit.bytes < machine):
        return limit.bytes, limit.limit
    return machine, ""


def available_memory() -> int | None:
    """Bytes of memory a new allocation of this process can have now: the machine's available
    memory, or its cgroup's or `ulimit -v`'s headroom where tighter (gan_cli.memory_limits); None
    where nothing says."""
    return _memory_and_limit()[0]


def check_host_memory(needed: int, what: str) -> None:
    """GanError before the work starts when `needed` bytes exceed the memory available now: an
    allocation that large would not fail cleanly but push the machine into swap or wake the
    kernel's OOM killer (SIGKILL: no message, no cleanup), which a container's memory limit wakes
    while the machine still has room. `what` names the option to lower."""
    free = available_memory()
    if free is not None and needed > free:
        _, limit = _memory_and_limit()
        under = f" under {limit}" if limit else ""
        raise GanError(
            f"{what}: needs about {human_bytes(needed)} of memory and {human_bytes(free)} is available{under}"
        )


@contextlib.contextmanager
def memory_as_error(advice: Callable[[str], str]) -> Iterator[None]:
    """Turn running out of memory inside the body into one GanError, `advice(size asked for)`:
    what to lower, named by its key or option."""
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        size = out_of_memory(exc)
        if size is None:
            raise
        raise GanError(advice(size)) from None
