"""gan sweep on Ray against running the same trials one after another; Ray's start-up cost apart.

Four trials of configs/ring8.yaml (2 seeds x train.k in [1, 2], a shorter budget and a small
`gan eval`), each the very function a Ray worker runs (gan_cli.commands.sweep.run_trial):

1. one after another in this process, each with 1 torch thread (--seq-threads), the same work
   per trial as on Ray, so the difference is the parallelism alone; --seq-threads 2 is a shell
   loop of `gan train` + `gan eval` with torch's default threads on 2 cores;
2. on a local Ray, each trial given 1 CPU (so 1 torch thread), as `gan sweep` runs them.

Ray's cost is printed apart: ray.init (the local Ray's processes) and the first tasks' worker
start (a Python process each, importing torch and gan_cli), measured on no-op tasks before the
trials. Usage:

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/sweep.py            # ~3 minutes on 2 cores
    PYTHONPATH=. python benchmarks/sweep.py --steps 300 --cpus 4
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
import yaml

from gan_cli.commands.sweep import run_trial
from gan_cli.sweep import engine
from gan_cli.sweep import spec as spec_mod
from gan_cli.sweep.trial import payload

REPO = Path(__file__).resolve().parents[1]
EVAL = {"generated_samples": 2000, "critic": {"seeds": 1, "steps": 300}, "density": {"w1_samples": 300}}


def _warm_up() -> int:
    """A no-op trial-sized import: what a fresh Ray worker pays before its first trial."""
    import gan_cli.commands.eval  # noqa: F401
    import gan_cli.commands.train  # noqa: F401

    return os.getpid()


def _walls(rows: list[dict]) -> str:
    return ", ".join(f"{r['wall_s']:.1f}" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000, help="train.steps of each trial (ring8's own is 5000)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray; trials run this many at a time")
    ap.add_argument("--seq-threads", type=int, default=1, help="torch threads of each trial run one after another")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gan-sweep-bench-"))
    sweep_file = work / "bench.yaml"
    sweep_file.write_text(
        yaml.safe_dump(
            {
                "base": str(REPO / "configs" / "ring8.yaml"),
                "name": "bench",
                "seeds": 2,
                "grid": {"train.k": [1, 2]},
                "set": {"train.steps": args.steps, "log.samples_every": args.steps},
                "eval": EVAL,
                "resources": {"cpus": 1},
            }
        ),
        encoding="utf-8",
    )
    spec = spec_mod.load(sweep_file)
    spec_mod.validate(spec)
    (work / "base.yaml").write_text(yaml.safe_dump(spec.base_raw), encoding="utf-8")

    def payloads(folder: str, cpus: float) -> list[dict]:
        return [
            payload(
                t.trial_id,
                t.grid,
                t.seed,
                work / folder / t.trial_id,
                work / "base.yaml",
                spec.overrides(t.grid),
                "cpu",
                cpus,
            )
            for t in spec.trials()
        ]

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores visible, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"# 4 trials: ring8, train.steps {args.steps}, 2 seeds x train.k [1, 2], eval {EVAL}")

    # 1. one after another
    start = time.perf_counter()
    seq_rows = [run_trial(p) for p in payloads("sequential", args.seq_threads)]
    sequential = time.perf_counter() - start
    assert all(r["status"] == "ok" for r in seq_rows), seq_rows

    # 2. on Ray, 1 CPU (1 thread) per trial
    with engine.connect(None, args.cpus) as cluster:
        ray = cluster.ray
        start = time.perf_counter()
        warm = ray.remote(num_cpus=1)(_warm_up)
        ray.get([warm.remote() for _ in range(args.cpus)])
        workers = time.perf_counter() - start
        rows: list[dict] = []
        start = time.perf_counter()
        engine.run_trials(cluster, run_trial, payloads("ray", 1), 1, 0, rows.append)
        on_ray = time.perf_counter() - start
        init = cluster.startup_s
    assert all(r["status"] == "ok" for r in rows), rows

    print(f"one after another ({args.seq_threads} thread(s) each): {sequential:7.1f} s   trials {_walls(seq_rows)} s")
    print(f"Ray, {args.cpus} CPUs, 1 per trial:        {on_ray:7.1f} s   trials {_walls(rows)} s")
    print(
        f"Ray start-up:  ray.init {init:.1f} s + first workers (start, import torch and gan_cli) {workers:.1f} s = {init + workers:.1f} s"
    )
    print(
        f"speed-up: {sequential / on_ray:.2f}x on the trials; {sequential / (on_ray + init + workers):.2f}x counting Ray's start-up"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
