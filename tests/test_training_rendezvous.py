"""Tests of gan_cli/training/rendezvous.py: the environment a multi-process run reads, checked
before any work with one message naming the variable."""

from __future__ import annotations

import pytest

from gan_cli.errors import GanError
from gan_cli.training.rendezvous import (
    RENDEZVOUS_TIMEOUT_S,
    distributed_env,
    local_world_size,
    rendezvous_timeout_s,
)

GOOD = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", "LOCAL_RANK": "1"}


def _set(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in {**GOOD, **env}.items():
        monkeypatch.setenv(name, value)


def test_a_whole_torchrun_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch)
    monkeypatch.delenv("GAN_RENDEZVOUS_TIMEOUT_S", raising=False)
    assert distributed_env() == (1, 2, 1)
    assert rendezvous_timeout_s() == RENDEZVOUS_TIMEOUT_S


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("RANK", "²", "RANK='²' is not a whole number"),  # str.isdigit() is true for it; int() refuses it
        ("MASTER_PORT", "-1", "MASTER_PORT='-1' is not a whole number"),
        ("MASTER_PORT", "0", "must be a port from 1 to 65535"),
        ("MASTER_PORT", "99999999999", "must be a port from 1 to 65535"),
        ("GAN_RENDEZVOUS_TIMEOUT_S", "two minutes", "GAN_RENDEZVOUS_TIMEOUT_S='two minutes' must be a positive"),
        ("GAN_RENDEZVOUS_TIMEOUT_S", "nan", "must be a positive number of seconds"),
        ("GAN_RENDEZVOUS_TIMEOUT_S", "inf", "must be a positive number of seconds"),
        ("GAN_RENDEZVOUS_TIMEOUT_S", "-5", "must be a positive number of seconds"),
        ("GAN_RENDEZVOUS_TIMEOUT_S", "1e300", "must be a positive number of seconds"),  # past timedelta's range
    ],
)
def test_each_malformed_variable_is_named_before_any_work(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    _set(monkeypatch, **{name: value})
    with pytest.raises(GanError, match=says):
        distributed_env()


def test_the_timeout_takes_fractions_of_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_RENDEZVOUS_TIMEOUT_S", "2.5")
    assert rendezvous_timeout_s() == 2.5


@pytest.mark.parametrize(("value", "expected"), [("4", 4), ("", 8), ("four", 8), ("²", 8)])
def test_a_malformed_local_world_size_falls_back_to_the_world(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    """Read only for the resume hint printed after training: it must never fail there."""
    monkeypatch.setenv("LOCAL_WORLD_SIZE", value)
    assert local_world_size(8) == expected
