"""The signals that stop a command: one list for every command, the training loop and a sweep.

Each of these ends a process at once by default, with no checkpoint and no message. Every `gan`
command catches them and stops as on Ctrl-C instead: training finishes its step and writes a
checkpoint, the other commands say what they did not write.

- SIGINT: Ctrl-C, `kill -INT`.
- SIGTERM: `kill`'s default, a scheduler's stop (SLURM at the time limit, Kubernetes, systemd).
- SIGHUP: a closed terminal, a dropped ssh session.
- SIGXCPU: a CPU-time soft limit (`ulimit -S -t`, a batch scheduler's s_cpu). Past it the kernel
  sends it again every CPU second until the hard limit: its repeats are one request.
- SIGUSR1, SIGUSR2: a batch scheduler's warning that it is about to end or suspend the job, the
  cue to checkpoint (SLURM's `sbatch --signal=USR1@120`, Grid Engine's `qsub -notify`).

SIGHUP, SIGUSR1 and SIGUSR2 that this process inherited *ignored* stay ignored: whoever started
it chose that (nohup ignores SIGHUP). SIGINT inherited ignored is caught all the same: a
non-interactive shell ignores it in every background job (`&` in a script, nohup, a CI runner),
and `kill -INT` would then do nothing. SIGQUIT (Ctrl-\\) and SIGKILL are left as the ways to end
at once, without a checkpoint.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

Handler = Callable[[int, Any], None]

STOP_SIGNAL_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGXCPU", "SIGUSR1", "SIGUSR2")
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in STOP_SIGNAL_NAMES if hasattr(signal, name)
)  # Windows has only SIGINT and SIGTERM of these
KEPT_IGNORED = frozenset(getattr(signal, name) for name in ("SIGHUP", "SIGUSR1", "SIGUSR2") if hasattr(signal, name))
REPEATED_BY_THE_KERNEL = getattr(signal, "SIGXCPU", None)


def to_catch() -> tuple[signal.Signals, ...]:
    """The stop signals this process catches: all, less those of KEPT_IGNORED it inherited ignored."""
    return tuple(sig for sig in STOP_SIGNALS if not (sig in KEPT_IGNORED and signal.getsignal(sig) is signal.SIG_IGN))


def install(handler: Handler) -> dict[int, Any]:
    """Send every stop signal to catch to `handler`; the handlers they had, to restore. Outside the
    main thread Python sets no handler: nothing changes and the result is empty."""
    previous: dict[int, Any] = {}
    for sig in to_catch():
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            break
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers `install` returned."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def elastic_agent_signals() -> str:
    """The signals `--nproc`'s agent (torchrun's launcher) handles (its LaunchConfig's
    signals_to_handle, torchrun's --signals-to-handle): it passes each on to every worker, which
    stops as above. torch's default list lacks SIGXCPU, SIGUSR1 and SIGUSR2: the agent took them
    as a Ctrl-C of its own and stopped its workers with SIGTERM."""
    return ",".join(["SIGQUIT", *(sig.name for sig in to_catch())])
