"""`gan sweep` on a local Ray with 2 CPUs: a 2-seed x 2-value sweep of a tiny config, a failing
trial among good ones, and Ctrl-C then --resume on a real `gan sweep` child process.

One local Ray (its start costs seconds) serves the in-process tests; the Ctrl-C test's child starts
its own, as a user's `gan sweep` does, and its --resume then runs in-process on the shared one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sweep_helpers import tiny_base, write_sweep

from gan_cli import checkpoint
from gan_cli.errors import GanError
from gan_cli.sweep import engine, results
from gan_cli.commands.sweep import SweepOptions, sweep_command
from gan_cli.sweep.intervals import mean_interval
from gan_cli.sweep.summary import format_interval
import stat
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.run_dir import RunDir

pytestmark = pytest.mark.slow  # starts a local Ray and child processes

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[engine.Cluster]:
    """A local Ray with 2 CPUs for this module; gan sweep uses a Ray that is already running."""
    with engine.connect(None, 2) as cluster:
        yield cluster


def rows_by_trial(sweep_dir: Path) -> dict[str, dict]:
    rows = results.read(sweep_dir / "results.jsonl")
    assert len(rows) == len({r["trial"] for r in rows}), "one row per trial"
    return {r["trial"]: r for r in rows}


def test_a_two_seed_two_value_sweep(tmp_path: Path, local_ray: engine.Cluster) -> None:
    path = write_sweep(tmp_path, grid={"train.k": [1, 2]}, metric="jsd_critic", metrics=["value", "w1"])
    out = sweep_command(SweepOptions(path, out=tmp_path / "sw"))
    rows = rows_by_trial(out)
    assert sorted(rows) == ["k=1,seed=0", "k=1,seed=1", "k=2,seed=0", "k=2,seed=1"]
    for trial_id, r in rows.items():
        assert r["status"] == "ok" and r["error"] is None and r["wall_s"] > 0
        assert r["threads"] == 1, "1 CPU per trial: 1 thread each"
        run = out / trial_id  # an ordinary run directory: config, checkpoint, eval.json
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        assert cfg["train"]["k"] == r["grid"]["train.k"] and cfg["seed"] == r["seed"]
        assert cfg["eval"]["generated_samples"] == 64, "the sweep's eval settings reach the trial"
        assert checkpoint.load(run / "checkpoints" / "last.pt")["step"] == 12
        ev = json.loads((run / "eval.json").read_text())
        assert r["metrics"]["value"] == ev["metrics"]["value"]["value"] and "jsd_critic" in r["metrics"]
        assert "gan train" in (run / "command.txt").read_text() and f"--seed {r['seed']}" in (run / "command.txt").read_text()
    assert rows["k=1,seed=0"]["metrics"] != rows["k=1,seed=1"]["metrics"], "the seeds differ"
    summary = (out / "summary.md").read_text()
    for k in (1, 2):
        values = [rows[f"k={k},seed={s}"]["metrics"]["value"] for s in (0, 1)]
        assert format_interval(mean_interval(values)) in summary
    assert "| metric | k=1 | k=2 |" in summary and "| trials ok / failed / all | 2 / 0 / 2 | 2 / 0 / 2 |" in summary
    assert "\n| w1 | " in summary and "| jsd_exact |" not in summary, "the table shows the chosen metrics"
    assert (out / "summary_jsd_critic.png").stat().st_size > 1000, "the figure's metric need not be in the table"

    # --resume of a finished sweep runs nothing and writes the same summary
    assert sweep_command(SweepOptions(out, resume=True)) == out
    assert (out / "summary.md").read_text() == summary
    assert rows_by_trial(out) == rows


def test_a_failing_trial_is_recorded_and_the_others_go_on(tmp_path: Path, local_ray: engine.Cluster) -> None:
    path = write_sweep(tmp_path, seeds=1, grid={"train.optimizer.lr": [0.001, 1e30]})  # lr 1e30: NaN at once
    with pytest.raises(GanError, match=r"1 of 2 trials failed") as info:
        sweep_command(SweepOptions(path, out=tmp_path / "sw"))
    rows = rows_by_trial(tmp_path / "sw")
    good, bad = rows["lr=0.001,seed=0"], rows["lr=1e+30,seed=0"]
    assert good["status"] == "ok" and good["metrics"]
    assert bad["status"] == "failed" and "NaN or infinite" in bad["error"] and bad["metrics"] == {}
    assert "lr=1e+30,seed=0: step 4: a loss became NaN or infinite" in str(info.value)
    summary = (tmp_path / "sw" / "summary.md").read_text()
    assert "## Failed trials" in summary and "`lr=1e+30,seed=0`: step 4" in summary


def _wait_for(condition: Callable[[], bool], child: subprocess.Popen, timeout: float = 300.0) -> None:
    """Wait until `condition()` holds (a bounded wait on files the trials write; fails fast if the child exits)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, f"gan sweep exited early: {child.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


LONG = tiny_base(steps=10_000_000, every=1, checkpoint_every=10_000_000)
"""A budget far beyond what a test lets run; one row per step; no periodic checkpoint."""


def _sweep_child(path: Path, out: Path, cpus: int, **popen: Any) -> subprocess.Popen:
    """`gan sweep PATH --out OUT --cpus N` in a child process of its own session, with its own local Ray."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gan_cli", "sweep", str(path), "--out", str(out), "--cpus", str(cpus)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True, **popen,
    )


def test_ctrl_c_checkpoints_running_trials_and_resume_finishes_them(tmp_path: Path, local_ray: engine.Cluster) -> None:
    path = write_sweep(tmp_path, config=LONG, grid={"train.k": [1]})
    out = tmp_path / "sw"
    # its own local Ray, as a user's sweep, started with SIGINT ignored, as a non-interactive shell
    # starts a background job (nohup, `&` in a script, a CI runner): Ctrl-C must still stop it
    child = _sweep_child(path, out, 2, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        metrics = [out / f"k=1,seed={s}" / "metrics.jsonl" for s in (0, 1)]
        _wait_for(lambda: all(m.is_file() and m.read_text().count("\n") >= 2 for m in metrics), child)
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground process group
        _, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, err
    assert f"resume with: gan sweep --resume {out.resolve()}" in err and "Traceback" not in err
    rows = rows_by_trial(out)
    assert [rows[f"k=1,seed={s}"]["status"] for s in (0, 1)] == ["interrupted", "interrupted"]
    steps = [checkpoint.load(out / f"k=1,seed={s}" / "checkpoints" / "last.pt")["step"] for s in (0, 1)]
    assert all(2 <= s < 10_000_000 for s in steps), "each running trial wrote its checkpoint on the way out"

    # a smaller budget (train.steps may change on resume), then --resume continues both trials
    base = out / "base.yaml"
    cfg = yaml.safe_load(base.read_text())
    cfg["train"]["steps"] = max(steps) + 3
    base.write_text(yaml.safe_dump(cfg))
    sweep_command(SweepOptions(out, resume=True))
    rows = rows_by_trial(out)
    for s, step in zip((0, 1), steps):
        run = out / f"k=1,seed={s}"
        assert rows[f"k=1,seed={s}"]["status"] == "ok"
        assert f"resumed from step {step}" in (run / "command.txt").read_text(), "resumed from last.pt, not restarted"
        logged = [r["step"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]
        assert logged == list(range(1, max(steps) + 4)), "no step lost or repeated"


def test_kill_pid_of_the_driver_alone_stops_a_sweep_of_long_trials(tmp_path: Path) -> None:
    """`kill PID` reaches the driver only, not the trials (Ctrl-C in a terminal signals them all):
    the driver cancels the running trials, which checkpoint, and exits 130."""
    path = write_sweep(tmp_path, config=LONG, seeds=1, grid={"train.k": [1]})
    out = tmp_path / "sw"
    child = _sweep_child(path, out, 1)
    try:
        metrics = out / "k=1,seed=0" / "metrics.jsonl"
        _wait_for(lambda: metrics.is_file() and metrics.read_text().count("\n") >= 2, child)
        os.kill(child.pid, signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, err
    assert rows_by_trial(out)["k=1,seed=0"]["status"] == "interrupted"
    assert checkpoint.load(out / "k=1,seed=0" / "checkpoints" / "last.pt")["step"] >= 2


class SlowRay:
    """Ray's task API as run_trials uses it: each trial finishes only after `waits` timed-out waits."""

    def __init__(self, waits: int) -> None:
        self.waits, self.timeouts = waits, []

    def remote(self, **resources: object) -> Callable[[Callable], object]:
        return lambda fn: type("Task", (), {"remote": staticmethod(lambda p: ("ref", p["trial"]))})

    def wait(self, refs: list, num_returns: int, timeout: float) -> tuple[list, list]:
        self.timeouts.append(timeout)
        if len(self.timeouts) <= self.waits:
            return [], refs
        return refs[:1], refs[1:]

    def get(self, ref: tuple[str, str]) -> dict:
        return {"trial": ref[1], "status": "ok"}


def test_the_driver_reports_unfinished_trials_each_time_a_wait_times_out() -> None:
    fake = SlowRay(waits=2)
    cluster = engine.Cluster(ray=fake, where="test", cpus=2, gpus=0, startup_s=0.0, local=True)
    payloads = [{"trial": "seed=1"}, {"trial": "seed=2"}]
    rows: list[dict] = []
    reports: list[list[str]] = []
    stopped = engine.run_trials(cluster, lambda p: {}, payloads, 1, 0, rows.append, on_wait=lambda u: reports.append([p["trial"] for p in u]), progress_s=7.0)
    assert not stopped and [r["trial"] for r in rows] == ["seed=1", "seed=2"]
    assert reports == [["seed=1", "seed=2"], ["seed=1", "seed=2"]], "one report per timed-out wait, naming every unfinished trial"
    assert set(fake.timeouts) == {7.0}


def test_a_local_ray_listens_on_the_loopback_address_only(local_ray: engine.Cluster) -> None:
    """A sweep on one machine binds 127.0.0.1, never the machine's network address."""
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert ray.util.get_node_ip_address() == "127.0.0.1"


# ---- hostile inputs: Ctrl-C while Ray starts


def test_ctrl_c_while_ray_starts_stops_ray_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from gan_cli.errors import Stopped
    from gan_cli.sweep import engine

    ray = pytest.importorskip("ray")
    calls: list[str] = []

    def init(**kwargs: object) -> None:
        calls.append("init")
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C inside ray.init

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    with pytest.raises(Stopped) as info:
        with engine.connect(None, 1):
            pass
    assert calls == ["init", "shutdown"] and info.value.code == 130 and "while Ray was starting" in info.value.message
