"""Helpers shared by the tests: tiny configs, IDX files, in-process and child-process `gan`.

Tests import them as `from helpers import ...` (tests/ is on sys.path under pytest); conftest.py
holds only fixtures.
"""

from __future__ import annotations

import gzip
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


# ---------------------------------------------------------------- configs and data files


def tiny_toy_config(**sections: Any) -> dict[str, Any]:
    """A 1-D Gaussian experiment small enough to train in well under a second."""
    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "device": "cpu",
        "data": {"name": "gaussian", "mean": 1.0, "std": 0.5, "train_size": 256, "held_out_size": 128},
        "noise": {"dim": 2, "prior": "uniform", "scale": 1.0},
        "generator": {"hidden": [{"units": 8, "activation": "relu"}], "output_activation": "linear"},
        "discriminator": {"hidden": [{"units": 8, "activation": "maxout", "pieces": 2, "dropout": 0.1}], "output_dropout": 0.1},
        "train": {"batch_size": 32, "steps": 12, "optimizer": {"name": "adam", "lr": 0.001}},
        "log": {"every": 4, "samples_every": 6, "checkpoint_every": 6, "keep": 1, "picture_samples": 16},
    }
    return merge_sections(cfg, sections)


def merge_sections(cfg: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """Override `cfg`'s sections one level deep (a dict merges into a section, anything else replaces)."""
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def toy_config(**sections: Any) -> dict[str, Any]:
    """The tiny 1-D experiment, logging every 2 steps and never saving on its own schedule."""
    cfg = tiny_toy_config(
        data={"held_out_size": 64},
        # dropout makes D consume torch's global RNG, so a forgotten RNG restore shows up
        discriminator={"hidden": [{"units": 8, "activation": "maxout", "pieces": 2, "dropout": 0.2}], "output_dropout": 0.2},
        log={"every": 2, "samples_every": 1_000_000, "checkpoint_every": 1_000_000, "keep": 1, "picture_samples": 16},
    )
    return merge_sections(cfg, sections)


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write a uint8 array in the IDX layout (big-endian header), optionally gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


# ---------------------------------------------------------------- run directories


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


TIMING_KEYS = ("samples_per_s", "time", "training_time")


def without_timing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


# ---------------------------------------------------------------- `gan` in-process and as a child


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


def piped_to_head(
    args: list[str], lines: int, cwd: Path, timeout: float = 120.0, with_stderr: bool = False
) -> tuple[int, str, str]:
    """`gan ARGS | head -n LINES` without a shell: (gan's exit code, what head printed, gan's stderr).
    head exits after its lines, so gan's next write to stdout meets a pipe with no reader. With
    `with_stderr`, `gan ARGS 2>&1 | head -n LINES` (gan's stderr is then '')."""
    cmd = [sys.executable, "-m", "gan_cli", *args]
    stderr = subprocess.STDOUT if with_stderr else subprocess.PIPE
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout is not None
    head = subprocess.Popen(["head", "-n", str(lines)], stdin=proc.stdout, stdout=subprocess.PIPE, text=True)
    proc.stdout.close()  # head holds the only read end now
    try:
        shown, _ = head.communicate(timeout=timeout)
        code = proc.wait(timeout=timeout)
    finally:
        for p in (proc, head):
            if p.poll() is None:
                p.kill()
                p.wait(timeout=60)
    return code, shown, proc.stderr.read() if proc.stderr is not None else ""


def is_step_line(line: str) -> bool:
    return line.startswith("step ")


# ---------------------------------------------------------------- several processes (torch.distributed)


def free_port() -> int:
    """A TCP port free on this machine right now (for a process group's rendezvous)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_ranks(script: Path, args: list[str], world: int = 2, timeout: float = 300.0) -> list[subprocess.CompletedProcess[str]]:
    """Run `python SCRIPT ARGS` as ranks 0..world-1 of one process group (torchrun's environment,
    without its agent); every rank is killed if any is still running after `timeout` seconds. The
    rendezvous port is chosen here, so another process may take it first: then it runs again."""
    for _ in range(3):
        done = _run_ranks_once(script, args, world, timeout)
        if not any("EADDRINUSE" in proc.stderr for proc in done):
            break
    return done


def _run_ranks_once(script: Path, args: list[str], world: int, timeout: float) -> list[subprocess.CompletedProcess[str]]:
    """One try: the ranks' output goes to files; when a rank fails, the others are killed at once
    (a rank whose peer is gone may wait on it for the process group's whole timeout)."""
    import tempfile

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for rank in range(world):
            env = child_env()
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
            out, err = open(Path(tmp) / f"{rank}.out", "w"), open(Path(tmp) / f"{rank}.err", "w")  # noqa: SIM115
            procs.append((subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=out, stderr=err, text=True), out, err))
        deadline = time.monotonic() + timeout
        try:
            while any(proc.poll() is None for proc, _, _ in procs):
                if time.monotonic() > deadline or any(proc.poll() not in (None, 0) for proc, _, _ in procs):
                    break
                try:
                    next(proc for proc, _, _ in procs if proc.poll() is None).wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            for proc, out, err in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=60)
                out.close()
                err.close()
        return [
            subprocess.CompletedProcess(proc.args, proc.returncode, Path(out.name).read_text(), Path(err.name).read_text())
            for proc, out, err in procs
        ]


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


# The update schemes that resume and distributed tests run each check under: Algorithm 1 with
# k = 1 and k = 3, and the released code's simultaneous update with the paper's SGD form and both
# schedules (lr by update, momentum by epoch), so every piece of state a step touches is exercised.
UPDATE_SCHEMES: dict[str, dict[str, Any]] = {
    "alternating-k1": {"update": "alternating", "k": 1},
    "alternating-k3": {"update": "alternating", "k": 3},
    "simultaneous-sgd-schedules": {
        "update": "simultaneous",
        "optimizer": {
            "name": "sgd",
            "lr": 0.05,
            "lr_schedule": {"name": "exponential", "decay": 1.01, "min_lr": 1e-4},
            "momentum_schedule": {"name": "linear", "start": 0.5, "final": 0.7, "saturate_epoch": 3},
        },
    },
}


def train_experiment(
    config_path: str | None,
    overrides: list[str],
    out: str | None = None,
    resume: bool = False,
    device: str | None = None,
    seed: int | None = None,
    dry_run: bool = False,
    reporter: Any = None,
    ranks: Any = None,
) -> Path | None:
    """`gan train`'s own code in this process (gan_cli.commands.train.train), from plain arguments."""
    from gan_cli.commands.train import train
    from gan_cli.training.options import TrainOptions

    options = TrainOptions(
        config=Path(config_path) if config_path else None, overrides=tuple(overrides), out=Path(out) if out else None,
        resume=resume, device=device, seed=seed, dry_run=dry_run,
    )
    return train(options, reporter, ranks)


def trained_run(tmp_path: Path) -> Path:
    """A finished tiny toy run (tiny_toy_config) at tmp_path/run."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    run = tmp_path / "run"
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    return run


def check_run_dir(run: Path, steps: int) -> list[dict[str, Any]]:
    """A finished run's files, its metrics rows (returned), its last picture and checkpoint are sound."""
    import math

    import torch
    from PIL import Image

    for name in ("config.yaml", "command.txt", "metrics.jsonl", "checkpoints/last.pt"):
        assert (run / name).is_file(), name
    assert "torch" in (run / "command.txt").read_text() and "device cpu" in (run / "command.txt").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    keys = {"step", "epoch", "value", "d_real", "d_fake", "d_loss", "g_loss", "lr", "momentum", "samples_per_s", "time", "training_time"}
    assert all(keys <= set(r) for r in rows)
    assert all(0 <= r["training_time"] <= r["time"] for r in rows)
    assert rows[-1]["step"] == steps
    for r in rows:
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
        assert r["value"] < 0 and math.isfinite(r["g_loss"])
    pngs = sorted((run / "samples").glob("step_*.png"))
    assert pngs and pngs[-1].name == f"step_{steps:07d}.png"
    with Image.open(pngs[-1]) as im:
        assert im.width > 50 and im.height > 50
        assert len(np.unique(np.asarray(im.convert("L")))) > 10, "the picture is not blank"
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == steps and ckpt["format_version"] == 2
    return rows


def file_mutations(valid: bytes) -> Any:
    """Hypothesis bytes: arbitrary ones, and the valid file with a stretch overwritten, cut short or extended."""
    from hypothesis import strategies as st

    n = len(valid)
    flipped = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=16)).map(lambda a: valid[: a[0]] + a[1] + valid[a[0] + len(a[1]) :])
    cut = st.integers(0, n).map(lambda k: valid[:k])
    extended = st.binary(max_size=64).map(lambda b: valid + b)
    return st.one_of(st.binary(max_size=256), flipped, cut, extended)


def loads_or_one_error(load: Callable[[], Any], path: Path | None = None) -> None:
    """`load()` succeeds or raises a one-line GanError (naming `path`, when given)."""
    from gan_cli.errors import GanError

    try:
        load()
    except GanError as exc:
        text = str(exc)
        if path is not None:
            assert str(path) in text or path.name in text, text
        assert "\n" not in text.strip()


def refused(result: Any) -> str:
    """A refused command: exit 1, one `error:` (a config's problems are listed under it, one a line), no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("error: ") == 1 and "Traceback" not in result.output, result.output
    return result.stderr


def train_error(tmp_path: Path, cfg: dict[str, Any] | str, *extra: str) -> str:
    """The message of a `gan train` refused before it starts; it made no run directory."""
    path = tmp_path / "c.yaml"
    if isinstance(cfg, str):
        path.write_text(cfg)
    else:
        write_config(path, cfg)
    out = tmp_path / "run"
    message = refused(gan("train", path, "--out", out, *extra))
    assert not out.exists(), "no run directory after a refused start"
    return message


def write_exp(tmp_path: Path, raw: dict[str, Any], name: str = "exp.yaml") -> Path:
    """An experiment YAML at tmp_path/name."""
    return write_config(tmp_path / name, raw)
