"""The shipped reference feature networks: build them, and measure the real-vs-real calibration.

build:   train the DigitCNN of each dataset once with the package's trainer (feature_cache.train_and_save,
         seed 0, default steps, one thread) on its default training split, and write it (float16
         weights) with its JSON under gan_cli/evaluate/reference/. Prints the sha256 to pin in
         gan_cli/evaluate/feature_reference.PINNED.
measure: FID, KID, precision/recall, density/coverage of the 10,000 MNIST validation images
         (never seen by the network) against the 10,000 test images, in the shipped network's
         features, as `gan eval` computes its calibration row (seed 0), beside the same for 10,000
         of the network's own training images (the calibration before); writes
         docs/results/reference_features.json.

Usage: python benchmarks/reference_features.py build [--root DIR] [--data mnist,digits]
       python benchmarks/reference_features.py measure [--root DIR] [--threads N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console

from gan_cli import data, seeds
from gan_cli.config import EvalConfig, from_dict
from gan_cli.data.splits import DEFAULT_RANGES
from gan_cli.evaluate import feature_cache, feature_net, feature_reference
from gan_cli.evaluate.feature_calibration import calibration_images, calibration_pair
from gan_cli.evaluate.feature_scores import score_images

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_name  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = Path("/work/shared/data/mnist")
OUT = REPO / "gan_cli" / "evaluate" / "reference"
RESULT = REPO / "docs" / "results" / "reference_features.json"
N = 10_000


def config(name: str, root: Path):  # noqa: ANN201
    return from_dict(
        {
            "data": {"name": name, "root": str(root)},
            "generator": {"output_activation": "sigmoid"},
            "train": {"steps": 1},
        }
    )


def build(names: list[str], root: Path) -> None:
    torch.set_num_threads(1)
    console = Console(highlight=False)
    for name in names:
        cfg = config(name, root)
        ld = feature_cache.labelled_data(cfg)
        lo, hi = cfg.data.train_range or DEFAULT_RANGES[name]["train"]
        settings = feature_net.TrainSettings(steps=feature_net.default_steps(len(ld.train)))
        with tempfile.TemporaryDirectory() as tmp:
            net = feature_cache.train_and_save(ld, Path(tmp) / f"{name}.pt", settings, console)
        source = {
            "mnist": "the official MNIST training file train-images-idx3-ubyte",
            "digits": "scikit-learn's load_digits() (1,797 8x8 images)",
        }[name]
        info = {
            **net.info,
            "train_range": [lo, hi],
            "trained_on": f"images {lo:,}..{hi - 1:,} of {source} (gan-cli's default training split); "
            "the validation split after them was never seen",
            "test_split": "the official test file (10,000 images)" if name == "mnist" else "images 1,600..1,796",
            "test_data_sha256": feature_net.data_hash(ld.test, ld.test_y),
            "built_by": f"python benchmarks/reference_features.py build --data {name}",
            "cpu": cpu_name(),
        }
        info.pop("train_seconds"), info.pop("train_cpu_seconds")
        path, record = feature_reference.write(net.model, info, OUT, ld.test, ld.test_y)
        print(
            f"{name}: {path.name} ({path.stat().st_size:,} bytes) sha256 {record['file_sha256']}; test accuracy "
            f"{100 * record['test_accuracy']:.2f} % (float32 {100 * record['test_accuracy_float32']:.2f} %)"
        )


KEYS = ("fid", "kid", "precision", "recall", "density", "coverage")


def seen_training_images(ds: data.Dataset) -> torch.Tensor:
    """N of the network's own training images, drawn as gan eval drew its calibration (seed 0) before
    it calibrated with images the network never saw."""
    gen = torch.Generator().manual_seed(seeds.derive(0, seeds.EVAL_FEATURES_TRAIN))
    return ds.train[torch.randperm(len(ds.train), generator=gen)[:N]]


def calibration_figures(root: Path, threads: int) -> tuple[dict, dict, float, feature_cache.FeatureNet]:
    """The calibration (validation vs test) and the network's own training images vs test, each a
    {metric: {"value", "stderr", ...}} of gan eval's calibration column (seed 0, unrounded), the
    seconds the calibration took, and the shipped network that scored them."""
    if threads:
        torch.set_num_threads(threads)
    cfg = config("mnist", root)
    ds = data.load(cfg)
    net = feature_cache.reference_net(cfg)
    ev = EvalConfig()
    t0 = time.perf_counter()
    cal_split, real_part = calibration_images(ds, "test", N, 0)
    pair = calibration_pair(cfg, net, cal_split, len(real_part), "test", N)
    r = score_images(net, ds.test[:N], ds.test[:N], real_part, "test", ev, 0, "cpu", pair)
    seconds = time.perf_counter() - t0
    # what the calibration was before: the network's own training images
    old = score_images(net, ds.test[:N], ds.test[:N], seen_training_images(ds), "test", ev, 0, "cpu")
    cal, seen_cal = ({k: x[k]["calibration"] for k in KEYS} for x in (r, old))
    return cal, seen_cal, seconds, net


def figures(c: dict) -> dict:
    """The digits the docs print: FID and KID with their s.e., the proportions, to 4 decimals."""
    return {
        "pair": c["fid"]["pair"],
        **{k: {"mean": round(c[k]["value"], 4), "se": round(c[k]["stderr"], 4)} for k in ("fid", "kid")},
        **{k: round(c[k]["value"], 4) for k in KEYS[2:]},
    }


def measure(root: Path, threads: int) -> None:
    cal, seen_cal, seconds, net = calibration_figures(root, threads)
    result = {
        "about": "the real-vs-real calibration of MNIST in the shipped reference network's features: the 10,000 "
        "validation images (never seen by the network) against the 10,000 test images, as gan eval's calibration "
        "row computes it (seed 0), beside 10,000 of the network's own training images (the calibration before); "
        "FID and KID (both in squared feature units) with their s.e.",
        "measured": {
            "command": "python benchmarks/reference_features.py measure" + (f" --threads {threads}" if threads else ""),
            "date": datetime.date.today().isoformat(),
            "hardware": cpu_name(),
            "machine": platform.machine(),
            "torch": str(torch.__version__),
            "threads": torch.get_num_threads(),
            "seconds": round(seconds, 1),
        },
        "network": {
            "file": net.info["file"],
            "file_sha256": net.info["file_sha256"],
            "weights_sha256": net.info["weights_sha256"],
            "test_accuracy_pct": round(100 * net.info["test_accuracy"], 2),
            "train_range": net.info["train_range"],
        },
        "calibration": figures(cal),
        "training_images": figures(seen_cal),
        "fid_unseen_minus_seen": round(cal["fid"]["value"] - seen_cal["fid"]["value"], 2),
    }
    print(json.dumps(result, indent=2))
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("build", "measure"))
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder with the four MNIST .gz files")
    ap.add_argument("--data", default="mnist,digits")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.what == "build":
        build(args.data.split(","), args.root)
    else:
        measure(args.root, args.threads)


if __name__ == "__main__":
    main()
