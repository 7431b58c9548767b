"""What logging, sample pictures and checkpoints cost, as a fraction of training time.

Runs `gan train configs/mnist.yaml` (the real code path: gan_cli.commands.train.train) for a short
budget with every interval shortened, times each event where it happens (train steps, metrics
rows, sample pictures, checkpoints), and projects the fraction of time they take at the intervals
of configs/mnist.yaml and at the LogConfig defaults. Measuring each event's cost inside one run
makes the figure robust to the machine's load, which a difference of two run times is not.

    PYTHONPATH=. python benchmarks/logging_overhead.py [--data-root /path/to/mnist] [--steps 80]

Without --data-root (or when it lacks the MNIST files) it uses synthetic 28x28 images.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli.commands import train as experiment
from gan_cli.config import LogConfig, read_yaml
from gan_cli.training import hooks, ranks
from gan_cli.training import loop as train
from gan_cli.training import run as run_module
from gan_cli.training.console import Reporter
from gan_cli.training.options import TrainOptions

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[..., Any], log: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            log.append(time.perf_counter() - t0)

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default="/work/shared/data/mnist")
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--every", type=int, default=10, help="the shortened interval of every event in the measuring run")
    args = ap.parse_args()
    events: dict[str, list[float]] = {"step": [], "checkpoint": [], "picture": [], "run": []}
    tmp = Path(tempfile.mkdtemp(prefix="gan-logging-"))
    overrides = [
        f"train.steps={args.steps}",
        f"log.every={args.every}",
        f"log.samples_every={args.every}",
        f"log.checkpoint_every={args.every}",
        "device=cpu",
    ]
    if (Path(args.data_root) / "train-images-idx3-ubyte.gz").is_file():
        overrides.append(f"data.root={args.data_root}")
        source = f"MNIST from {args.data_root}"
    else:
        images = np.random.default_rng(0).integers(0, 256, (6_000, 1, 28, 28), dtype=np.uint8)
        np.savez(tmp / "synthetic.npz", x=images)
        overrides += [
            "data.name=npz",
            f"data.path={tmp / 'synthetic.npz'}",
            "data.train_range=null",
            "data.valid_range=null",
        ]
        source = "synthetic 28x28 images"

    class TimedTrainer(train.Trainer):
        def train_step(self) -> None:
            t0 = time.perf_counter()
            super().train_step()
            events["step"].append(time.perf_counter() - t0)

    ranks.Trainer = TimedTrainer  # type: ignore[misc]
    run_module.save_checkpoint = timed(run_module.save_checkpoint, events["checkpoint"])
    hooks.draw = timed(hooks.draw, events["picture"])
    experiment.run = timed(experiment.run, events["run"])
    experiment.train(TrainOptions(REPO / "configs" / "mnist.yaml", tuple(overrides), tmp / "run"), Reporter(quiet=True))

    n = args.steps
    step = statistics.median(events["step"])
    ckpt = statistics.median(events["checkpoint"])
    pic = statistics.median(events["picture"])
    logged = n // args.every
    # everything else in the loop (metrics rows, the final sync they carry, the loop itself), per row
    rest = (events["run"][0] - sum(events["step"]) - sum(events["checkpoint"]) - sum(events["picture"])) / logged
    print(
        f"# {source}; {n} steps, every event each {args.every} steps; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"load average {tuple(round(x, 2) for x in os.getloadavg())}"
    )
    print(
        f"# per event (median): train step {step * 1e3:.1f} ms, metrics row + loop {rest * 1e3:.1f} ms, "
        f"sample picture {pic * 1e3:.0f} ms, checkpoint {ckpt * 1e3:.0f} ms "
        f"({(tmp / 'run' / 'checkpoints' / 'last.pt').stat().st_size / 1e6:.0f} MB)"
    )
    mnist = read_yaml(REPO / "configs" / "mnist.yaml")["log"]
    defaults = LogConfig()
    for name, every, samples, ckpts in (
        ("configs/mnist.yaml", mnist["every"], mnist["samples_every"], mnist["checkpoint_every"]),
        ("LogConfig defaults", defaults.every, defaults.samples_every, defaults.checkpoint_every),
    ):
        extra = rest / every + pic / samples + ckpt / ckpts
        print(
            f"{name:20s} (log every {every}, pictures every {samples}, checkpoints every {ckpts}): "
            f"{extra / (step + extra):.2%} of training time"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
