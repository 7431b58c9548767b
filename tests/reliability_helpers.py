"""Helpers shared by the reliability tests: tiny configs, in-process and child-process `gan train`."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import torch
import yaml
from conftest import merge_sections, tiny_toy_config

REPO = Path(__file__).resolve().parents[1]

torch.set_num_threads(1)


def toy_config(**sections: Any) -> dict[str, Any]:
    """conftest's tiny 1-D experiment, logging every 2 steps and never saving on its own schedule."""
    cfg = tiny_toy_config(
        data={"eval_samples": 64},
        # dropout makes D consume torch's global RNG, so a forgotten RNG restore shows up
        discriminator={"hidden": [{"units": 8, "activation": "maxout", "pieces": 2, "dropout": 0.2}], "output_dropout": 0.2},
        log={"every": 2, "samples_every": 1_000_000, "checkpoint_every": 1_000_000, "keep": 1, "num_samples": 16},
    )
    return merge_sections(cfg, sections)


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def metrics_rows(run_dir: Path, complete_only: bool = False) -> list[dict[str, Any]]:
    """The rows of metrics.jsonl; with complete_only, lines that are not whole JSON rows are skipped."""
    rows = []
    for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if not complete_only:
                raise
    return rows


TIMING_KEYS = ("samples_per_s", "time")


def without_timing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


def gan(*args: Any) -> Any:
    """`gan ARGS` in-process (Typer's CliRunner); stdout and stderr are kept apart."""
    from typer.testing import CliRunner

    from gan_cli.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def one_clean_error(result: Any) -> str:
    """The message of a failed command: exit 1, one `error:` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("error: ") == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr[result.stderr.index("error: ") :]
    assert message.count("\n") == 1, "one line"
    return message


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    return env


class Child:
    """A `gan` child process whose stdout is read line by line on a thread (bounded waits, no sleeps)."""

    def __init__(self, args: list[str], cwd: Path, prelude: str = "") -> None:
        if prelude:
            code = "import sys\n" + prelude + "\nfrom gan_cli.cli import main\nsys.argv = ['gan', *sys.argv[1:]]\nmain()\n"
            cmd = [sys.executable, "-c", code, *args]
        else:
            cmd = [sys.executable, "-m", "gan_cli", *args]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._stderr: str | None = None
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 120.0) -> str:
        """The first stdout line satisfying `predicate`; fails on EOF or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"no matching line within {timeout} s; last lines: {self.seen[-5:]}") from None
            if line is None:
                raise AssertionError(f"the child ended before a matching line; last lines: {self.seen[-5:]}; stderr: {self.stderr()}")
            self.seen.append(line)
            if predicate(line):
                return line

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 120.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        """Everything the child wrote to stderr (read once it has exited, then kept)."""
        if self.proc.poll() is None:
            return "(still running)"
        if self._stderr is None:
            assert self.proc.stderr is not None
            self._stderr = self.proc.stderr.read()
        return self._stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)


def is_step_line(line: str) -> bool:
    return line.startswith("step ")
