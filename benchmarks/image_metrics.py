"""Benchmark: `gan eval`'s feature metrics on MNIST for 10,000 samples, once the classifier is cached.

Times the whole feature section as `gan eval` runs it: features of the 10,000 samples, the 10,000
test images and 10,000 training images (the calibration), then FID (with its bootstrap), KID,
precision/recall, density/coverage and the class histogram, for the samples and for the
calibration. Target: under 30 s on a 2-core CPU. Also prints the values, so the metrics can be
read against known cases:

- valid:     the 10,000 validation images as "samples" (a perfect generator that never saw them)
- half:      validation images of digits 0-4 only, repeated to 10,000 (five modes dropped)
- noisy:     validation images plus N(0, 0.2^2) pixel noise, clipped to [0, 1] (blurred quality)
- --ckpt RUN: 10,000 samples of a trained generator

The feature network is trained first if it is not cached (that time is printed separately):
the data root used is WORK/data, whose MNIST/raw holds links to the files in --root, so the
cache is written under WORK, not beside the shared files.

Usage: python benchmarks/image_metrics.py [--root DIR] [--work DIR] [--threads N] [--cases valid,half,noisy] [--ckpt RUN]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from rich.console import Console

from gan_cli import data
from gan_cli.config import EvalConfig, from_dict
from gan_cli.evaluate import feature_cache, feature_net
from gan_cli.evaluate.feature_scores import score_images

DEFAULT_ROOT = Path("/work/shared/data/mnist")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
N = 10_000


def data_root(root: Path, work: Path) -> Path:
    """WORK/data/MNIST/raw with links to the four MNIST files under `root`."""
    raw = work / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        src = next((p for p in (root / name, root / "MNIST" / "raw" / name) if p.is_file()), None)
        if src is None:
            raise SystemExit(f"{name} not found under {root}")
        link = raw / name
        if not link.exists():
            link.symlink_to(src.resolve())
    return work / "data"


def cases(ds: data.Dataset, labels: dict, gen: torch.Generator) -> dict[str, torch.Tensor]:
    valid = ds.valid[:N]
    low = valid[torch.from_numpy(labels["valid"][:N] < 5)]
    return {
        "valid": valid,
        "half": low[torch.randint(len(low), (N,), generator=gen)],
        "noisy": (valid + 0.2 * torch.randn(valid.shape, generator=gen)).clamp_(0.0, 1.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder with the four MNIST .gz files")
    ap.add_argument("--work", type=Path, default=Path("runs/bench-image-metrics"), help="where the data root with links (and so the cached network) lives")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--cases", default="valid,half,noisy")
    ap.add_argument("--ckpt", type=Path, default=None, help="also score 10,000 samples of this checkpoint or run directory")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(highlight=False)
    root = data_root(args.root, args.work)
    cfg = from_dict({"data": {"name": "mnist", "root": str(root)}, "generator": {"output_activation": "sigmoid"}, "train": {"steps": 1}})
    t0 = time.perf_counter()
    ds, labels = data.load(cfg), data.load_labels(cfg)
    print(f"load MNIST: {time.perf_counter() - t0:.1f} s; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")

    path = feature_cache.cache_path(cfg)
    ld = feature_cache.labelled_data(cfg, ds)
    if path.is_file():
        net = feature_cache.load_cached(path, ld)
        print(f"cached network: {net.describe()}")
    else:
        net = feature_cache.train_and_save(ld, path, feature_net.TrainSettings(steps=feature_net.default_steps(len(ld.train))), console)
    i = net.info
    print(f"classifier: test accuracy {100 * i['test_accuracy']:.2f} % ({i['n_test']:,} test images); trained in {i['train_seconds']:.1f} s wall, "
          f"{i['train_cpu_seconds']:.1f} s CPU, {i['threads']} thread(s), {i['steps']:,} steps of {i['batch_size']}")

    gen = torch.Generator().manual_seed(0)
    samples = {name: x for name, x in cases(ds, labels, gen).items() if name in args.cases.split(",")}
    if args.ckpt is not None:
        from gan_cli.sample import generate, load_models

        loaded = load_models(args.ckpt, torch.device("cpu"))
        lo, hi = ds.value_range if loaded.cfg.generator.output_activation == "sigmoid" else (-1.0, 1.0)
        samples[f"ckpt {args.ckpt}"] = (generate(loaded.G, loaded.cfg, N, 0, torch.device("cpu")) - lo) / (hi - lo)
    ev = EvalConfig()
    train_part = ds.train[torch.randperm(len(ds.train), generator=gen)[:N]]
    for name, fake in samples.items():
        t = time.perf_counter()
        c = time.process_time()
        out = score_images(net, fake, ds.test, train_part, "test", ev, 1000)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(f"\n== {name}: {len(fake):,} samples vs {len(ds.test):,} test images; feature section {wall:.1f} s wall, {cpu:.1f} s CPU")
        print(f"{'metric':<16}{'value':>22}{'real vs real (train vs test)':>34}")
        for key, m in out.items():
            cal = m["calibration"]
            pm = lambda r: f"{r['value']:.4f}" + (f" ± {r['stderr']:.4f}" if r.get("stderr") is not None else "")  # noqa: E731
            print(f"{key:<16}{pm(m):>22}{pm(cal):>34}")


if __name__ == "__main__":
    main()
