"""gan_cli/training/running_clock.py: the training clock leaves out the time the process was
stopped (Ctrl-Z, SIGSTOP, a suspended job), which `time.perf_counter` counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import REPO, Child, child_env, is_step_line, metrics_rows, tiny_toy_config, toy_config, write_config
from hypothesis import given
from hypothesis import strategies as st

from gan_cli import config as config_mod
from gan_cli import data
from gan_cli.training import run as run_mod
from gan_cli.training.loop import Trainer
from gan_cli.training.running_clock import RunningClock


class FakeTime:
    """Seconds that move only when a test says so."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def running_for(seconds: float, now: FakeTime, clock: RunningClock) -> None:
    """`seconds` of a running process: the watching thread ticks every 0.25 s."""
    for _ in range(round(seconds / 0.25)):
        now.t += 0.25
        clock.tick()


def test_a_process_that_runs_throughout_counts_every_second() -> None:
    now = FakeTime()
    clock = RunningClock(tick_s=0.25, grace_s=3.0, now=now, cpu=lambda: 0.0)
    start = clock()
    running_for(10.0, now, clock)
    assert clock() - start == pytest.approx(10.0) and clock.stopped_s == 0.0


def test_a_stop_stands_the_clock_still_past_the_grace_and_is_left_out_after() -> None:
    """Stopped for 100 s between two ticks (no CPU time spent): the clock reads 3 s on (the grace)
    and stays there, during the stop and after the next tick, which books the other 97 s as
    stopped; then it runs again."""
    now = FakeTime()
    clock = RunningClock(tick_s=0.25, grace_s=3.0, now=now, cpu=lambda: 0.0)
    start = clock()
    now.t += 2.0
    assert clock() - start == pytest.approx(2.0), "a gap within the grace is running time"
    now.t += 50.0
    assert clock() - start == pytest.approx(3.0), "a stop under way stands the clock still"
    now.t += 48.0
    clock.tick()  # the first tick after SIGCONT
    assert clock() - start == pytest.approx(3.0) and clock.stopped_s == pytest.approx(97.0)
    now.t += 5.0
    clock.tick()
    assert clock() - start == pytest.approx(6.0), "5 s past the last tick with none between: 3 of them run"
    now.t += 0.25
    clock.tick()
    assert clock() - start == pytest.approx(6.25) and clock.stopped_s == pytest.approx(99.0)


@given(st.lists(st.tuples(st.floats(0.0, 1e4), st.floats(0.0, 2e4), st.booleans()), max_size=60))
def test_the_clock_never_goes_back_nor_gets_ahead_of_time_less_its_stops(steps: list[tuple[float, float, bool]]) -> None:
    now, cpu = FakeTime(), FakeTime(0.0)
    clock = RunningClock(tick_s=0.25, grace_s=3.0, now=now, cpu=cpu)
    before = clock()
    for advance, spent, tick in steps:
        now.t += advance
        cpu.t += spent
        if tick:
            clock.tick()
        reading = clock()
        assert reading >= before - 1e-6, "never back (up to rounding)"
        assert reading <= now.t - clock.stopped_s + 1e-6, "never ahead of the time less the stops booked"
        before = reading


def test_a_gap_the_process_spent_computing_is_no_stop() -> None:
    """C code that holds the GIL keeps the thread from ticking, but the
    process's CPU time goes on: 10 s without a tick and 10 CPU seconds (or 20, two threads) are
    10 s of running; 10 s with 4 CPU seconds are 3 s of stop (the grace's 3 s and the 4 s run)."""
    now, cpu = FakeTime(), FakeTime(0.0)
    clock = RunningClock(tick_s=0.25, grace_s=3.0, now=now, cpu=cpu)
    start = clock()
    now.t += 10.0
    cpu.t += 10.0
    assert clock() - start == pytest.approx(10.0)
    clock.tick()
    now.t += 10.0
    cpu.t += 20.0
    clock.tick()
    assert clock() - start == pytest.approx(20.0) and clock.stopped_s == 0.0
    now.t += 10.0
    cpu.t += 4.0
    clock.tick()
    assert clock() - start == pytest.approx(27.0) and clock.stopped_s == pytest.approx(3.0)


@pytest.mark.parametrize(("tick", "grace"), [(0.0, 3.0), (3.0, 3.0), (-1.0, 1.0)])
def test_a_tick_must_be_positive_and_shorter_than_the_grace(tick: float, grace: float) -> None:
    with pytest.raises(ValueError, match="tick_s"):
        RunningClock(tick_s=tick, grace_s=grace)


def test_the_watching_thread_ends_with_the_block() -> None:
    with RunningClock(tick_s=0.01, grace_s=1.0) as clock:
        thread = clock._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive()


def test_a_stop_during_a_picture_is_left_out_once(tmp_path: Path) -> None:
    """The run's clock: a stop is neither training time nor picture time, and it is reported once."""
    raw = tiny_toy_config(train={**tiny_toy_config()["train"], "steps": 12, "max_minutes": 1.0})
    cfg = config_mod.load(write_config(tmp_path / "c.yaml", raw))
    trainer = Trainer(cfg, data.load(cfg), __import__("torch").device("cpu"))
    now = FakeTime()
    clock = run_mod._Clock(trainer, RunningClock(tick_s=0.25, grace_s=3.0, now=now, cpu=lambda: 0.0))
    running_for(50.0, now, clock.now)  # 50 s of training
    with clock.evaluating():
        running_for(1.0, now, clock.now)  # drawing a picture
        now.t += 600.0  # stopped for 10 minutes (the grace's 3 s count as drawing)
        clock.now.tick()
        running_for(1.0, now, clock.now)
    assert clock.training_seconds() == pytest.approx(50.0) and not clock.over_budget()
    assert trainer.evaluation_s == pytest.approx(5.0)
    assert clock.stopped_since_last_look() == pytest.approx(597.0)
    assert clock.stopped_since_last_look() == 0.0
    now.t += 3.5  # a busy machine held the thread up a little past its grace: not worth a note yet
    clock.now.tick()
    assert clock.now.stopped_s == pytest.approx(597.5) and clock.stopped_since_last_look() == 0.0
    running_for(10.0, now, clock.now)
    assert clock.over_budget()


@pytest.mark.slow
def test_a_real_stop_of_the_process_is_left_out() -> None:
    """SIGSTOP a child for 1.5 s: its clock (grace 0.2 s) stands still for all but the grace."""
    code = textwrap.dedent(
        """
        import sys
        from gan_cli.training.running_clock import RunningClock
        with RunningClock(tick_s=0.02, grace_s=0.2) as clock:
            start = clock()
            print("ready", flush=True)
            sys.stdin.readline()
            clock.tick()  # the watching thread's next tick, which may not have come yet after SIGCONT
            print(clock() - start, clock.stopped_s, flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        wall = time.perf_counter()
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(1.5)  # the stop under test: a real one lasts as long as it lasts
        os.kill(child.pid, signal.SIGCONT)
        child.stdin.write("\n")
        child.stdin.flush()
        ran, stopped = map(float, child.stdout.readline().split())
        wall = time.perf_counter() - wall
    finally:
        child.kill()
        child.wait(timeout=60)
    assert 1.5 - 0.2 - 0.1 <= stopped <= wall, "the stop, less the grace, was left out"
    assert ran <= wall - stopped + 0.05


@pytest.mark.slow
def test_a_stopped_and_continued_training_keeps_its_budget_and_says_so(tmp_path: Path) -> None:
    """A `gan train` with 2 s of train.max_minutes, stopped (SIGSTOP) for 3 s and continued, trains
    its 2 s; before, the stop spent the budget and the run ended at the next step. The stop is noted
    and is in no row's time."""
    run = tmp_path / "run"
    raw = toy_config(train={**toy_config()["train"], "steps": 1_000_000, "max_minutes": 2 / 60}, log={**toy_config()["log"], "every": 1})
    quick = "import gan_cli.training.running_clock as rc\nrc.TICK_S, rc.GRACE_S = 0.02, 0.2"
    child = Child(["train", str(write_config(tmp_path / "c.yaml", raw)), "--out", str(run)], cwd=tmp_path, prelude=quick)
    try:
        child.wait_for_line(is_step_line)
        child.signal(signal.SIGSTOP)
        time.sleep(3.0)  # the stop under test, longer than the budget
        stopped_at = len(metrics_rows(run))
        child.signal(signal.SIGCONT)
        note = child.wait_for_line(lambda line: "the process was stopped for" in line)
        assert child.wait(timeout=120) == 0, child.stderr()
    finally:
        child.kill()
    assert "not counted as training time (train.max_minutes)" in note
    notes = (run / "command.txt").read_text(encoding="utf-8")
    assert "the process was stopped for" in notes and "time budget reached" in notes
    rows = metrics_rows(run)
    gaps = [b["time"] - a["time"] for a, b in zip(rows, rows[1:], strict=False)]
    assert max(gaps) < 1.5, "no row's time holds the stop (half of it allowed: the machine may be busy)"
    assert rows[-1]["training_time"] - rows[stopped_at - 1]["training_time"] > 1.0, "it trained on after the stop"
