"""Benchmark: the paper's full MNIST Parzen protocol, timed against a plain matmul of its size.

10,000 kernels x 784 pixels; sigma chosen on 1,000 validation images from the 10 sigmas of
logspace(-1, 0, 10); mean +- s.e. on the 10,000 test images. gan_cli.evaluate.parzen computes each point's
distances once and shares them across the sigmas, so the protocol should cost little more than
the (11,000 x 784) @ (784 x 10,000) matmul it contains. Target: under 20 s on a 2-core CPU.

With /work/shared/data/mnist (or --root) the kernels are 10,000 real training images: that is the
paper's calibration, which scores about 241-245 nats. Otherwise synthetic [0, 1] data (the timing
holds, the log-likelihood means nothing).

Usage: python benchmarks/parzen_protocol.py [--root DIR] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from gan_cli.evaluate import parzen

DEFAULT_ROOT = Path("/work/shared/data/mnist")
N_KERNELS, N_VALID, N_TEST, DIM = 10_000, 1_000, 10_000, 784


def mnist_splits(root: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the 50,000 training images, validation images 0..999, the 10,000 test images) of MNIST under
    data.root `root`, pixels in [0, 1]."""
    from gan_cli import data
    from gan_cli.config import from_dict

    cfg = from_dict(
        {
            "data": {"name": "mnist", "root": str(root)},
            "generator": {"output_activation": "sigmoid"},
            "train": {"steps": 1},
        }
    )
    ds = data.load(cfg)
    return ds.train, ds.valid[:N_VALID], ds.test[:N_TEST]


def load_mnist(root: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paper's calibration: training images 0..9,999 as kernels, with the validation and test images."""
    train, valid, test = mnist_splits(root)
    return train[:N_KERNELS], valid, test


def synthetic() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (
        torch.rand(N_KERNELS, DIM, generator=g),
        torch.rand(N_VALID, DIM, generator=g),
        torch.rand(N_TEST, DIM, generator=g),
    )


def time_matmul(a: torch.Tensor, b: torch.Tensor, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        (a @ b).sum().item()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    real = (args.root / "train-images-idx3-ubyte.gz").is_file() or (args.root / "MNIST" / "raw").is_dir()
    kernels, valid, test = load_mnist(args.root) if real else synthetic()
    kernels, valid, test = kernels.to(dev), valid.to(dev), test.to(dev)
    print(
        f"data: {'real MNIST from ' + str(args.root) + ' (kernels: training images 0..9,999)' if real else 'synthetic uniform [0, 1] (no MNIST found)'}"
    )
    print(
        f"sizes: {len(kernels):,} kernels x {kernels.shape[1]} dims; {len(valid):,} validation + {len(test):,} test points; {len(parzen.PAPER_SIGMAS)} sigmas"
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}; load average before: {os.getloadavg()[0]:.2f} (1 min)"
    )

    # baseline: one plain float32 matmul of the protocol's size, in the same run
    a = torch.cat([valid, test])
    flops = 2.0 * a.shape[0] * a.shape[1] * kernels.shape[0]
    t_mm = time_matmul(a, kernels.T.contiguous())
    print(
        f"baseline matmul ({a.shape[0]:,} x {a.shape[1]}) @ ({a.shape[1]} x {kernels.shape[0]:,}): {t_mm:.2f} s, {flops / t_mm / 1e9:.1f} GFLOP/s"
    )

    t0 = time.perf_counter()
    r = parzen.paper_protocol(kernels, valid, test)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter() - t0
    print(
        f"parzen protocol: {t:.2f} s end to end, {flops / t / 1e9:.1f} GFLOP/s of distance matmul "
        f"({t / t_mm:.2f}x the plain matmul); target < 20 s: {'met' if t < 20 else 'MISSED'}"
    )
    print(
        f"  sigma {r['sigma']:.4f} (valid means: "
        + ", ".join(f"{s:.3f}: {v:.1f}" for s, v in r["valid_means"].items())
        + ")"
    )
    print(
        f"  log-likelihood on {r['n']:,} test images: {r['mean']:.2f} +- {r['stderr']:.2f} nats"
        + ("  (paper's calibration for real training images as kernels: about 241-245)" if real else "")
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
