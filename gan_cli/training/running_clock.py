"""Seconds the process has run: a monotonic clock that leaves out the time it was stopped.

A process stopped by Ctrl-Z (SIGTSTP), `kill -STOP`, a scheduler's suspend (SLURM's `scontrol
suspend` sends SIGSTOP) or a frozen cgroup does not run, yet `time.perf_counter` goes on. A run
under `train.max_minutes` that was stopped for longer than its budget found the budget spent when
it was continued, and stopped after one step; its throughput, ETA and `lr_schedule.start_at_budget`
read the stop as training time too.

No signal marks the start of a stop (SIGSTOP cannot be caught and a freezer sends nothing), so a
daemon thread ticks every `tick_s`. A gap between two ticks longer than `grace_s` is a stop
unless the process spent CPU time through it: a running process gives the thread the GIL within
Python's switch interval (5 ms), except while a C call holds it, and then its CPU time goes on,
where a stopped process's does not. Of a gap, what exceeds `grace_s` plus the CPU seconds spent
in it is left out. A stop shorter than `grace_s` is counted as running time, and so are the
first `grace_s` seconds of a longer one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

TICK_S = 0.25
"""Seconds between two ticks of the watching thread."""
GRACE_S = 3.0
"""A gap between ticks up to this many seconds is running time; the rest of a longer gap is a stop,
less the CPU time the process spent in it."""


class RunningClock:
    """`clock()`: seconds on `now` (default `time.perf_counter`) less every stop seen so far, one
    under way included; it never goes back, and stands still while the process is stopped.

    `cpu` (default `time.process_time`, every thread's) tells a stop from a thread held up by C
    code. Use it as a context manager (`with RunningClock() as clock:`), which starts and ends the
    watching thread; `tick()` is that thread's work, callable by hand where a test drives the time."""

    def __init__(
        self,
        tick_s: float | None = None,
        grace_s: float | None = None,
        now: Callable[[], float] = time.perf_counter,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        tick_s = TICK_S if tick_s is None else tick_s  # read here, not at import: a test may set them
        grace_s = GRACE_S if grace_s is None else grace_s
        if not 0 < tick_s < grace_s:
            raise ValueError(f"tick_s {tick_s} must be positive and below grace_s {grace_s}")
        self.tick_s, self.grace_s, self._now, self._cpu = tick_s, grace_s, now, cpu
        self._lock = threading.Lock()
        self._last_tick, self._last_cpu = now(), cpu()
        self.stopped_s = 0.0
        """Seconds of stops left out so far (a stop under way is added at the next tick)."""
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _stop_under_way(self, t: float, cpu: float) -> float:
        gap = t - self._last_tick
        ran = min(max(cpu - self._last_cpu, 0.0), gap)  # CPU seconds of several threads can exceed the gap
        return max(0.0, gap - ran - self.grace_s)

    def tick(self) -> None:
        """Note that the process is running now; a gap past `grace_s` since the last tick was a stop."""
        with self._lock:
            t, cpu = self._now(), self._cpu()
            self.stopped_s += self._stop_under_way(t, cpu)
            self._last_tick, self._last_cpu = t, cpu

    def __call__(self) -> float:
        with self._lock:
            t = self._now()
            return t - self.stopped_s - self._stop_under_way(t, self._cpu())

    def _watch(self) -> None:
        while not self._halt.wait(self.tick_s):
            self.tick()

    def __enter__(self) -> RunningClock:
        with self._lock:
            self._last_tick, self._last_cpu = self._now(), self._cpu()
        self._thread = threading.Thread(target=self._watch, name="gan-cli running clock", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
