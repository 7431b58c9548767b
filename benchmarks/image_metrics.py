"""Benchmark: `gan eval`'s feature metrics on MNIST for 10,000 samples, and their values in known cases.

Times the whole feature section as `gan eval` runs it: features of the 10,000 samples, the 10,000
test images and the 10,000 validation images (the calibration, which the network never saw), then
FID (with its bootstrap), KID, precision/recall, density/coverage and the class histogram, for the
samples and for the calibration. Target: under 30 s on a 2-core CPU. Also prints the values, so
the metrics can be read against known cases:

- real:       10,000 training images as "samples" (images the network trained on)
- validation: the 10,000 validation images (a perfect generator whose images the network never saw)
- digits_0_4: validation images of digits 0-4 only, repeated to 10,000 (five modes dropped)
- noise_0_2:  validation images plus N(0, 0.2^2) pixel noise, clipped to [0, 1] (blurred quality)
- --ckpt NAME=RUN: 10,000 samples of a trained generator (G averaged where the run keeps one)
- --stacked RUN: a Stacked MNIST run that `gan eval --ckpt RUN` scored: its eval.json's metrics and
  their real-vs-real calibration, under "stacked_mnist" (with --write)

The network is the shipped reference one (`--network reference`, the default, as `gan eval`), or
one trained on this machine (`--network local`: trained first if not cached, that time printed
separately; its data root is WORK/data, whose MNIST/raw holds links to the files in --root, so
the cache is written under WORK, not beside the shared files). `--write` puts the values, with the
network and the command, under "values" in docs/results/image_metrics.json.

Usage: python benchmarks/image_metrics.py [--root DIR] [--work DIR] [--threads N] [--network reference|local]
                                          [--cases real,validation,digits_0_4,noise_0_2] [--ckpt NAME=RUN ...]
                                          [--stacked RUN] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from gan_cli import data
from gan_cli.config import EvalConfig, from_dict
from gan_cli.evaluate import feature_cache, feature_net
from gan_cli.evaluate.feature_calibration import calibration_pair
from gan_cli.evaluate.feature_scores import score_images

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_name  # noqa: E402
from reference_features import seen_training_images  # noqa: E402

DEFAULT_ROOT = Path("/work/shared/data/mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
RESULT = Path(__file__).resolve().parent.parent / "docs" / "results" / "image_metrics.json"
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
        "real": seen_training_images(ds),
        "validation": valid,
        "digits_0_4": low[torch.randint(len(low), (N,), generator=gen)],
        "noise_0_2": (valid + 0.2 * torch.randn(valid.shape, generator=gen)).clamp_(0.0, 1.0),
    }


def network(cfg, ds: data.Dataset, which: str, console: Console) -> feature_cache.FeatureNet:  # noqa: ANN001
    if which == "reference":
        net = feature_cache.reference_net(cfg)
        print(
            f"reference network: {net.info['file']} (sha256 {net.info['file_sha256'][:12]}), "
            f"test accuracy {100 * net.info['test_accuracy']:.2f} %"
        )
        return net
    path = feature_cache.cache_path(cfg)
    ld = feature_cache.labelled_data(cfg, ds)
    if path.is_file():
        net = feature_cache.load_cached(path, ld)
        print(f"cached network: {net.describe()}")
    else:
        net = feature_cache.train_and_save(
            ld, path, feature_net.TrainSettings(steps=feature_net.default_steps(len(ld.train))), console
        )
    i = net.info
    print(
        f"classifier: test accuracy {100 * i['test_accuracy']:.2f} % ({i['n_test']:,} test images); trained in {i['train_seconds']:.1f} s wall, "
        f"{i['train_cpu_seconds']:.1f} s CPU, {i['threads']} thread(s), {i['steps']:,} steps of {i['batch_size']}"
    )
    return net


def checkpoint_samples(run: Path, ds: data.Dataset) -> torch.Tensor:
    """10,000 samples (seed 0) of the run's G, mapped to [0, 1]."""
    from gan_cli.sample import generate, load_models

    loaded = load_models(run, torch.device("cpu"))
    lo, hi = ds.value_range if loaded.cfg.generator.output_activation == "sigmoid" else (-1.0, 1.0)
    return (generate(loaded.G, loaded.cfg, N, 0, torch.device("cpu")) - lo) / (hi - lo)


def mean_se(record: dict, digits: int) -> dict:
    """A metric record's value and s.e., rounded to `digits` decimals."""
    return {"mean": round(record["value"], digits), "se": round(record["stderr"], digits)}


def proportions(get: Any) -> dict:
    """Precision, recall, density and coverage (3 decimals) of the records `get(name)` returns, and
    `NAME_interval` for each proportion at 0 or 1: its binomial s.e. is 0, so the table prints its
    Wilson interval instead (as gan eval's table does)."""
    return {
        **{k: round(get(k)["value"], 3) for k in ("precision", "recall", "density", "coverage")},
        **{
            f"{k}_interval": [round(x, 5) for x in get(k)["interval"]]
            for k in ("precision", "recall", "coverage")
            if get(k)["stderr"] == 0 and "interval" in get(k)
        },
    }


def figures(m: dict) -> dict:
    """One column of the docs' table: FID and KID with their s.e., the proportions and the classes."""
    return {
        "fid": mean_se(m["fid"], 2),
        "kid": mean_se(m["kid"], 2),
        **proportions(lambda k: m[k]),
        "classes_covered": int(m["classes_covered"]["value"]),
        "class_kl": round(m["class_kl"]["value"], 4),
    }


def stacked_figures(run: Path) -> dict:
    """The Stacked MNIST section from RUN/eval.json: the run's metrics and their calibration."""
    evaluation = json.loads((run / "eval.json").read_text(encoding="utf-8"))
    m = evaluation["metrics"]

    def side(get: Any) -> dict:
        return {
            "modes": int(get("modes_captured")["value"]),
            "mode_kl": mean_se(get("reverse_kl"), 3),
            "fid": mean_se(get("fid"), 1),
            "kid": mean_se(get("kid"), 2),
            **proportions(get),
        }

    n_samples = m["fid"]["n"][0] if isinstance(m["fid"]["n"], list) else m["fid"]["n"]  # (samples, held-out)
    return {
        "what": f"configs/stacked_mnist.yaml, RUN/{Path(evaluation['checkpoint']).relative_to(run.resolve())} at step "
        f"{evaluation['step']:,}, gan eval --ckpt RUN: {n_samples:,} samples for FID/KID/PRDC, "
        f"{m['modes_captured']['n']:,} for the modes; real: {m['fid']['calibration']['pair']}; modes: "
        f"{m['modes_captured']['calibration']['pair']}",
        "run": {
            **side(lambda k: m[k]),
            "parzen": mean_se(m["parzen_ll"], 1),
            "jsd_critic": round(m["jsd_critic"]["value"], 3),
        },
        "real": side(lambda k: m[k]["calibration"]),
        "feature_seconds": round(evaluation["seconds"]["features"]),
        "eval_seconds": round(sum(evaluation["seconds"].values())),
    }


def command(args: argparse.Namespace) -> str:
    """The command line as the docs print it: run directories as RUN, no paths of this machine."""
    parts = ["python benchmarks/image_metrics.py"]
    parts += [f"--threads {args.threads}"] if args.threads else []
    parts += [f"--network {args.network}"] if args.network != "reference" else []
    parts += [f"--ckpt {spec.partition('=')[0]}=RUN" for spec in args.ckpt]
    parts += ["--stacked RUN"] if args.stacked is not None else []
    return " ".join([*parts, "--write"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder with the four MNIST .gz files")
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("runs/bench-image-metrics"),
        help="where the data root with links (and so a local network's cache) lives",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--network", choices=("reference", "local"), default="reference")
    ap.add_argument("--cases", default="real,validation,digits_0_4,noise_0_2")
    ap.add_argument(
        "--ckpt",
        action="append",
        default=[],
        metavar="NAME=RUN",
        help="also score 10,000 samples of this run directory or checkpoint",
    )
    ap.add_argument("--stacked", type=Path, default=None, help="a Stacked MNIST run directory scored by gan eval")
    ap.add_argument(
        "--write", action="store_true", help="write the values under 'values' in docs/results/image_metrics.json"
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(highlight=False)
    root = data_root(args.root, args.work)
    cfg = from_dict(
        {
            "data": {"name": "mnist", "root": str(root)},
            "generator": {"output_activation": "sigmoid"},
            "train": {"steps": 1},
        }
    )
    t0 = time.perf_counter()
    ds, labels = data.load(cfg), data.load_labels(cfg)
    print(
        f"load MNIST: {time.perf_counter() - t0:.1f} s; torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    )
    net = network(cfg, ds, args.network, console)

    gen = torch.Generator().manual_seed(0)
    samples = {name: x for name, x in cases(ds, labels, gen).items() if name in args.cases.split(",")}
    for spec in args.ckpt:
        name, sep, run = spec.partition("=")
        if not sep:
            raise SystemExit(f"--ckpt {spec}: give NAME=RUN")
        samples[name] = checkpoint_samples(Path(run), ds)
    ev = EvalConfig()
    # the calibration gan eval reports: the validation images, which the network never saw, against the test images
    pair = calibration_pair(cfg, net, "valid", N, "test", N)
    values: dict[str, dict] = {}
    for name, fake in samples.items():
        t = time.perf_counter()
        c = time.process_time()
        out = score_images(net, fake, ds.test, ds.valid[:N], "test", ev, 0, "cpu", pair)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(
            f"\n== {name}: {len(fake):,} samples vs {len(ds.test):,} test images; feature section {wall:.1f} s wall, {cpu:.1f} s CPU"
        )
        print(f"{'metric':<16}{'value':>22}{'real vs real (validation vs test)':>38}")
        for key, m in out.items():
            cal = m["calibration"]
            pm = lambda r: f"{r['value']:.4f}" + (f" ± {r['stderr']:.4f}" if r.get("stderr") is not None else "")  # noqa: E731
            print(f"{key:<16}{pm(m):>22}{pm(cal):>38}")
        values[name] = figures(out)
    if args.write:
        result = json.loads(RESULT.read_text(encoding="utf-8"))
        result["values"] = {
            "what": "10,000 images or samples against the 10,000 MNIST test images, in the features of the network below; "
            "real: 10,000 training images (the network trained on them); validation: the 10,000 validation images "
            "(the calibration gan eval prints); digits_0_4: validation images of digits 0-4 repeated to 10,000; "
            "noise_0_2: validation images + N(0, 0.2^2) clipped; the other columns: 10,000 samples of a trained G",
            "network": {
                "file": net.info.get("file", str(net.path)),
                "sha256": net.info.get("file_sha256", net.info["weights_sha256"]),
                "test_accuracy_pct": round(100 * net.info["test_accuracy"], 2),
            },
            "measured": {
                "command": command(args),
                "date": datetime.date.today().isoformat(),
                "hardware": cpu_name(),
                "machine": platform.machine(),
                "torch": str(torch.__version__),
                "threads": torch.get_num_threads(),
            },
            **values,
        }
        if args.stacked is not None:
            result["stacked_mnist"] = stacked_figures(args.stacked)
            print(json.dumps(result["stacked_mnist"], indent=1))
        RESULT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {RESULT}")


if __name__ == "__main__":
    main()
