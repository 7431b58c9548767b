"""Device selection: `auto` picks cuda, then mps, then cpu; an absent device is a clear error."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import torch

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


_ALLOC = re.compile(r"(?:tried to allocate|Tried to allocate) ([\d.]+ ?[KMGT]?i?B|\d+ bytes)")


def out_of_memory(exc: BaseException) -> str | None:
    """For an allocator failure (CPU or GPU), the size it asked for ('40 TB', or 'memory' when the
    message does not say); None for any other error."""
    text = str(exc)
    if not (isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in text or "out of memory" in text):
        return None
    m = _ALLOC.search(text)
    if m is None:
        return "memory"
    size = m.group(1)
    if size.endswith(" bytes"):
        n = float(size.split()[0])
        for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
            if n < 1000 or unit == "PB":
                return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
            n /= 1000
    return size


@contextlib.contextmanager
def memory_as_error(advice: Callable[[str], str]) -> Iterator[None]:
    """Turn running out of memory inside the body into one GanError, `advice(size asked for)`:
    what to lower, named by its key or option."""
    try:
        yield
    except RuntimeError as exc:
        size = out_of_memory(exc)
        if size is None:
            raise
        raise GanError(advice(size)) from None
