"""Device selection logic, tested with stand-in availability probes on the CPU."""

from __future__ import annotations

import pytest
import torch

from gan_cli import devices
from gan_cli.errors import GanError


def probes(cuda: bool, mps: bool, count: int = 1) -> dict:
    return {"cuda_available": lambda: cuda, "cuda_count": lambda: count, "mps_available": lambda: mps}


def test_auto_prefers_cuda_then_mps_then_cpu() -> None:
    assert devices.select("auto", **probes(True, True)) == torch.device("cuda")
    assert devices.select("auto", **probes(False, True)) == torch.device("mps")
    assert devices.select("auto", **probes(False, False)) == torch.device("cpu")


def test_explicit_devices() -> None:
    assert devices.select("cpu", **probes(True, True)) == torch.device("cpu")
    assert devices.select("cuda:1", **probes(True, False, count=2)) == torch.device("cuda:1")


@pytest.mark.parametrize(
    "name, kw, message",
    [
        ("cuda", probes(False, False), "CUDA is not available"),
        ("cuda:2", probes(True, False, count=2), "only 2 CUDA device"),
        ("mps", probes(False, False), "mps was requested but is not available"),
        ("tpu", probes(False, False), "not one of auto, cpu"),
    ],
)
def test_absent_device_is_a_clear_error(name: str, kw: dict, message: str) -> None:
    with pytest.raises(GanError, match=message):
        devices.select(name, **kw)


def test_sizes_and_host_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli import devices
    from gan_cli.errors import GanError

    assert devices.human_bytes(512) == "512 bytes" and devices.human_bytes(31_360_000_000) == "31.4 GB"
    assert devices.human_bytes(5 * (2**32 - 1) ** 3) == "396,140,812,294,620 PB"  # past a float: integer arithmetic
    free = devices.available_memory()
    assert free is None or free > 0
    monkeypatch.setattr(devices, "available_memory", lambda: 2_000_000_000)
    devices.check_host_memory(1_000_000_000, "-n 5")
    with pytest.raises(GanError, match=r"-n 5: needs about 3.0 GB of memory and 2.0 GB is available"):
        devices.check_host_memory(3_000_000_000, "-n 5")
    monkeypatch.setattr(devices, "available_memory", lambda: None)
    devices.check_host_memory(10**18, "-n 5")  # unknown: not refused


def test_numpy_running_out_of_memory_is_one_line_with_its_size() -> None:
    # numpy raises MemoryError (its _ArrayMemoryError), not torch's RuntimeError: an exact W1 of
    # 100,000 samples a side ended in a traceback
    exc = MemoryError("Unable to allocate 149. GiB for an array with shape (100000, 100000, 2) and data type float64")
    assert devices.out_of_memory(exc) == "149 GiB"
    assert devices.out_of_memory(MemoryError()) == "memory"
    with pytest.raises(GanError, match="^asked for 149 GiB$"):
        with devices.memory_as_error(lambda size: f"asked for {size}"):
            raise exc
    with pytest.raises(ValueError):  # anything else is not memory
        with devices.memory_as_error(lambda size: f"asked for {size}"):
            raise ValueError("Unable to allocate 1 GiB")
