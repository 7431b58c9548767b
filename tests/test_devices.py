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
