"""Scaling over processes: steps/s and examples/s of `gan train`'s step with 1 and N processes.

The paper's MNIST nets and update (configs/mnist.yaml: G 100-1200-1200-784, D maxout 240x5 twice,
dropout, simultaneous update, batch 100 per process) on synthetic 784-d data; each process one
thread (CPU, gloo) or one GPU (cuda, nccl). One launch of N worker processes (torchrun's
environment, set here) measures, round after round, interleaved so that a change in the machine's
load hits every candidate alike:

- 1 process: rank 0 trains a plain Trainer (`gan train`'s step) alone while the other ranks wait
  at a barrier (blocked, using no CPU);
- N processes: every rank trains a DistributedTrainer (the step of `gan train --nproc N`): its own
  batch of 100, so a global batch of 100 N, and the gradient all-reduces of D and G;
- all-reduce alone: the two gradient all-reduces of one step (G's 2.5 M and D's 1.2 M values).

Scaling efficiency = examples/s with N processes / (N x examples/s with 1). Usage:

    PYTHONPATH=. python benchmarks/scaling.py                      # 1 and 2 processes on the CPU, ~2 minutes
    PYTHONPATH=. python benchmarks/scaling.py --nproc 4 --device cuda
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from machine import cpu_name  # benchmarks/machine.py, beside this script

REPO = Path(__file__).resolve().parents[1]
N_IMAGES = 10_000
BATCH = 100  # per process, as configs/mnist.yaml


def build(update: str, device: torch.device, rank: int | None, world: int):  # type: ignore[no-untyped-def]
    """The Trainer `gan train configs/mnist.yaml` builds (rank None), or one rank's DistributedTrainer."""
    from gan_cli import config, data
    from gan_cli.training import distributed, loop

    raw = config.read_yaml(REPO / "configs" / "mnist.yaml")
    raw["device"] = str(device)
    raw["train"] = {**raw["train"], "update": update, "k": 1}
    cfg = config.from_dict(raw)
    images = np.random.default_rng(0).integers(0, 256, (N_IMAGES, 784), dtype=np.uint8)
    x = torch.from_numpy(images).float().div_(255)
    dataset = data.Dataset("synthetic", x, x[:BATCH], x[:BATCH], (1, 28, 28), (0.0, 1.0), None)
    if rank is None:
        return loop.Trainer(cfg, dataset, device)
    return distributed.DistributedTrainer(cfg, dataset, device, rank, world)


def timed(step, steps: int, sync) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(steps/s by the wall clock between two barriers, CPU seconds per step of this whole process)."""
    dist.barrier()
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    sync()
    dist.barrier()
    return steps / (time.perf_counter() - t0), (time.process_time() - c0) / steps


def worker(args: argparse.Namespace) -> None:
    from gan_cli.training.distributed import average_gradients

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if args.device == "cuda":
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
        dist.init_process_group("nccl")

        def sync() -> None:
            torch.cuda.synchronize(device)

    else:
        torch.set_num_threads(1)
        device = torch.device("cpu")
        dist.init_process_group("gloo")

        def sync() -> None:
            return None

    single = build(args.update, device, None, world) if rank == 0 else None
    multi = build(args.update, device, rank, world)
    grads = [list(multi.G.parameters()), list(multi.D.parameters())]

    def one() -> None:
        if single is not None:
            single.train_step()

    def all_reduces() -> None:
        for params in grads:
            average_gradients(params, world)

    candidates = {"1 process": one, f"{world} processes": multi.train_step, "all-reduce alone (G and D)": all_reduces}
    for step in candidates.values():  # warm-up: allocator, thread pool, lazy state
        timed(step, 3, sync)
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    loads = []
    t_start = time.perf_counter()
    for i in range(args.rounds):
        loads.append(os.getloadavg()[0])
        if rank == 0:
            print(
                f"round {i + 1}/{args.rounds} (load {loads[-1]:.2f}, {time.perf_counter() - t_start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        for name, step in candidates.items():
            r, c = timed(step, args.steps, sync)
            rates[name].append(r)
            cpu[name].append(c)
    if rank != 0:
        dist.destroy_process_group()
        return
    med = {name: statistics.median(v) for name, v in rates.items()}
    one_rate = med["1 process"]
    print(
        f"# {platform.machine()} {cpu_name()}; {os.cpu_count()} CPUs; torch {torch.__version__}; device {args.device}"
        f"{' ' + torch.cuda.get_device_name(device) if device.type == 'cuda' else ', 1 thread per process'}; backend {dist.get_backend()}"
    )
    print(
        f"# configs/mnist.yaml nets, {args.update} update, batch {BATCH} per process, synthetic data; medians over {args.rounds} interleaved rounds of {args.steps} steps"
    )
    print(f"# 1-min load average during the rounds {min(loads):.2f}..{max(loads):.2f} (on {os.cpu_count()} CPUs)")
    print()
    print(
        "| candidate                  | processes | global batch | steps/s | examples/s | scaling efficiency | CPU ms/step (rank 0) | spread (steps/s) |"
    )
    print(
        "|----------------------------|----------:|-------------:|--------:|-----------:|-------------------:|---------------------:|:-----------------|"
    )
    for name in candidates:
        procs = 1 if name == "1 process" else world
        r = med[name]
        if name.startswith("all-reduce"):
            print(
                f"| {name:26s} | {world:9d} |              | {r:7.1f} |            | {1000 / r:.1f} ms per step     | {1000 * statistics.median(cpu[name]):20.1f} | {min(rates[name]):.1f}..{max(rates[name]):.1f} |"
            )
            continue
        eff = r * procs / (procs * one_rate)
        print(
            f"| {name:26s} | {procs:9d} | {BATCH * procs:12d} | {r:7.1f} | {r * BATCH * procs:10.0f} | {eff:18.0%} | {1000 * statistics.median(cpu[name]):20.1f} | {min(rates[name]):.1f}..{max(rates[name]):.1f} |"
        )
    print()
    print(f"# whole benchmark: {time.perf_counter() - t_start:.0f} s of rounds")
    dist.destroy_process_group()


def launch(args: argparse.Namespace) -> int:
    """Start this script as ranks 0..nproc-1 (torchrun's environment, no agent); rank 0 prints."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(args.nproc):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(args.nproc),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
        )
        env["OMP_NUM_THREADS"] = "1"
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        procs.append(subprocess.Popen([sys.executable, __file__, *sys.argv[1:]], env=env))
    return max(p.wait() for p in procs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nproc", type=int, default=2, help="processes of the multi-process candidate")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--update", default="simultaneous", choices=["simultaneous", "alternating"])
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the table gives medians")
    ap.add_argument("--steps", type=int, default=10, help="steps per candidate per round")
    args = ap.parse_args()
    if "RANK" in os.environ:
        worker(args)
    else:
        sys.exit(launch(args))


if __name__ == "__main__":
    main()
