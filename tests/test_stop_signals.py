"""The one list of stop signals: which are caught, which stay ignored, and what torchrun's agent handles."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from gan_cli import stop_signals


@pytest.fixture
def handlers_kept() -> Iterator[None]:
    """Whatever a test sets, the suite's own handlers come back after it."""
    previous = {sig: signal.getsignal(sig) for sig in stop_signals.STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_the_stop_signals_are_the_ones_whose_default_ends_the_process_without_a_word() -> None:
    names = {sig.name for sig in stop_signals.STOP_SIGNALS}
    assert names == {"SIGINT", "SIGTERM", "SIGHUP", "SIGXCPU", "SIGUSR1", "SIGUSR2"}
    assert "SIGQUIT" not in names  # Ctrl-\ stays the way to end at once


def test_an_inherited_ignore_is_kept_for_hup_and_usr_but_not_for_ctrl_c(handlers_kept: None) -> None:
    for sig in stop_signals.STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    caught = {sig.name for sig in stop_signals.to_catch()}
    assert caught == {"SIGINT", "SIGTERM", "SIGXCPU"}
    for sig in stop_signals.STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    assert set(stop_signals.to_catch()) == set(stop_signals.STOP_SIGNALS)


def test_install_sends_each_signal_to_the_handler_and_restore_puts_the_old_ones_back(handlers_kept: None) -> None:
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # kept ignored: not installed, not restored
    before = {sig: signal.getsignal(sig) for sig in stop_signals.STOP_SIGNALS}
    received: list[str] = []
    previous = stop_signals.install(lambda signum, frame: received.append(signal.Signals(signum).name))
    assert signal.SIGUSR2 not in previous
    os.kill(os.getpid(), signal.SIGUSR1)
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(10**5):  # Python runs a handler between bytecodes
        if len(received) == 2:
            break
    assert received == ["SIGUSR1", "SIGTERM"]
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_IGN
    stop_signals.restore(previous)
    assert {sig: signal.getsignal(sig) for sig in stop_signals.STOP_SIGNALS} == before


def test_torchruns_agent_passes_on_every_caught_signal_and_keeps_sigquit(handlers_kept: None) -> None:
    for sig in stop_signals.STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # under nohup the agent keeps ignoring it too
    handled = stop_signals.elastic_agent_signals().split(",")
    assert sorted(handled) == sorted(["SIGQUIT", "SIGINT", "SIGTERM", "SIGXCPU", "SIGUSR1", "SIGUSR2"])
    for name in handled:
        assert isinstance(getattr(signal, name), signal.Signals)  # torch looks each name up in signal
