"""Reproduce Table 1 (MNIST Parzen log-likelihood, paper: 225 +- 2) from scratch, every recipe.

    python benchmarks/reproduce_table1.py /path/to/mnist [--epochs N] [--minutes M] [--out runs/table1] [--jobs 2]

1. trains configs/mnist.yaml (the released code's simultaneous update),
   configs/mnist_algorithm1.yaml (Algorithm 1 as the paper states it, k = 1),
   configs/mnist_averaged.yaml (the released training with G's weights averaged, train.ema),
   configs/mnist_algorithm1_adam.yaml (Algorithm 1 with Adam and G averaged) and
   configs/mnist_fast.yaml (the same in bf16, the 2-hour recipe) on the MNIST files in
   the given directory, with model selection on a validation Parzen signal every epoch
   (checkpoints/best.pt); --minutes stops each run (SIGTERM: it finishes its step and checkpoints)
   after that much wall time, the budget of a time-to-quality comparison; runs that already have
   checkpoints/last.pt are kept (use --retrain to start over);
2. evaluates best.pt and last.pt of each run (G's average where the run kept one, and then its
   raw G too) with the paper's protocol (gan_cli.evaluate.parzen.paper_protocol:
   10,000 samples from G as kernels, sigma from numpy.logspace(-1, 0, 10) chosen on the first 1,000
   validation images, mean +- std/sqrt(n) over the 10,000 test images), the real-data
   calibration (the first 10,000 training images as kernels; the paper's remark: about 241-245),
   and `gan eval`'s FID and KID against the test images in the MNIST feature network (with their
   real-vs-real calibration; the network is trained once and cached, see docs/image_metrics.md);
3. prints the table and the time to quality of each run (benchmarks/time_to_quality.py; its PNG
   goes to OUT/time_to_quality.png), and writes every number to OUT/table1.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import time_to_quality  # noqa: E402

from gan_cli import config as config_mod  # noqa: E402
from gan_cli import data
from gan_cli.evaluate import parzen
from gan_cli.evaluate.feature_section import feature_metrics
from gan_cli.sample import generate, load_models  # noqa: E402

RUNS = {
    "simultaneous (released code)": "mnist",
    "Algorithm 1 (alternating, k = 1)": "mnist_algorithm1",
    "released code, G averaged (train.ema)": "mnist_averaged",
    "Algorithm 1, Adam, G averaged": "mnist_algorithm1_adam",
    "the same in bf16 (the fast recipe)": "mnist_fast",
}
EVAL_SEED = 0
N_KERNELS = 10_000
N_VALID = 1_000


def train(
    root: Path, out: Path, epochs: int | None, jobs: int, retrain: bool, minutes: float | None
) -> dict[str, float]:
    """Train the configs that have no last.pt yet, each stopped by SIGTERM after `minutes` of wall
    time if given; returns wall seconds per run."""
    procs, started, walls = {}, {}, {}
    pending = []
    for name in RUNS.values():
        run_dir = out / name
        if (run_dir / "checkpoints" / "last.pt").is_file() and not retrain:
            print(f"# {run_dir}: already trained, kept (--retrain to start over)", flush=True)
            continue
        if run_dir.exists() and retrain:
            import shutil

            shutil.rmtree(run_dir)
        cmd = [
            sys.executable,
            "-m",
            "gan_cli",
            "train",
            str(REPO / "configs" / f"{name}.yaml"),
            "--set",
            f"data.root={root}",
            "--out",
            str(run_dir),
        ]
        if epochs is not None:
            cmd += ["--set", f"train.epochs={epochs}"]
        pending.append((name, cmd))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    while pending or procs:
        while pending and len(procs) < jobs:
            name, cmd = pending.pop(0)
            print("# " + " ".join(cmd), flush=True)
            log = open(out / f"{name}.log", "w", encoding="utf-8")
            procs[name] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
            started[name] = time.perf_counter()
        for name, p in list(procs.items()):
            if minutes is not None and p.poll() is None and time.perf_counter() - started[name] > 60 * minutes:
                p.send_signal(signal.SIGTERM)  # the run finishes its step, checkpoints and exits 130
                p.wait()
            if p.poll() is not None:
                walls[name] = time.perf_counter() - started[name]
                if p.returncode not in (0, 130):
                    raise SystemExit(f"training {name} failed (exit {p.returncode}); see {out / (name + '.log')}")
                del procs[name]
        time.sleep(2)
    return walls


def evaluate(ckpt: Path, ds: data.Dataset, valid: torch.Tensor, weights: str | None = None) -> dict[str, object]:
    """The protocol for one checkpoint, and FID / KID on the test images as `gan eval` computes them;
    `weights` ema | raw | None (G's average when the checkpoint has one)."""
    loaded = load_models(ckpt, torch.device("cpu"), weights)
    centers = generate(loaded.G, loaded.cfg, N_KERNELS, EVAL_SEED, torch.device("cpu"))
    res = parzen.paper_protocol(centers, valid, ds.test)
    res["step"] = int(loaded.ckpt["step"])
    res["weights"] = loaded.weights
    res["epoch"] = float(loaded.ckpt.get("epoch", float("nan")))
    feats = feature_metrics(loaded, ds, ds.test, N_KERNELS, "test", EVAL_SEED)
    res["features"] = {k: feats[k] for k in ("fid", "kid") if k in feats}
    return res


def _feature_cell(res: dict, name: str) -> str:
    rec = res.get("features", {}).get(name)
    if not rec:
        return ""
    return f"{rec['value']:.2f} +- {rec['stderr']:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mnist_root", type=Path, help="directory with the MNIST IDX files (.gz or unpacked)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the config's)")
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop each run after this many minutes of wall time (the 2-hour budget: 120)",
    )
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "table1", help="parent of the run directories")
    ap.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    ap.add_argument("--retrain", action="store_true", help="delete and retrain runs that already exist")
    ap.add_argument("--eval-only", action="store_true", help="skip training; evaluate the runs in --out")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.out.mkdir(parents=True, exist_ok=True)
    walls = (
        {}
        if args.eval_only
        else train(args.mnist_root.resolve(), args.out, args.epochs, args.jobs, args.retrain, args.minutes)
    )

    cfg = config_mod.load(REPO / "configs" / "mnist.yaml", [f"data.root={args.mnist_root.resolve()}"])
    ds = data.load(cfg)
    valid, test = ds.valid[:N_VALID], ds.test
    t0 = time.perf_counter()
    calib = parzen.paper_protocol(ds.train[:N_KERNELS], valid, test)
    rows = [("real training images 0..9,999 (calibration)", "", calib, time.perf_counter() - t0)]
    for label, name in RUNS.items():
        for which in ("best.pt", "last.pt"):
            ckpt = args.out / name / "checkpoints" / which
            if not ckpt.is_file():
                print(f"# missing {ckpt}", flush=True)
                continue
            weights: str | None = None  # G's average where the run kept one, then its raw G too
            while True:
                t0 = time.perf_counter()
                res = evaluate(ckpt, ds, valid, weights)
                tag = (
                    f"{which}, G averaged"
                    if res["weights"] == "ema"
                    else f"{which}, raw G"
                    if weights == "raw"
                    else which
                )
                rows.append((label, tag, res, time.perf_counter() - t0))
                print(
                    f"# {ckpt} [{res['weights']}]: {res['mean']:.1f} +- {res['stderr']:.1f} (sigma {res['sigma']:.3f})",
                    flush=True,
                )
                if res["weights"] != "ema":
                    break
                weights = "raw"

    print("\n| model | checkpoint | epoch | sigma | Parzen log-likelihood (nats) | FID (MNIST-CNN) | KID (MNIST-CNN) |")
    print("|---|---|---|---|---|---|---|")
    print("| Adversarial nets, paper (Table 1) | | | | 225 +- 2 | | |")
    for label, which, r, _ in rows:
        epoch = f"{r['epoch']:.0f}" if "epoch" in r else ""
        print(
            f"| {label} | {which} | {epoch} | {r['sigma']:.3f} | {r['mean']:.1f} +- {r['stderr']:.1f} | {_feature_cell(r, 'fid')} | {_feature_cell(r, 'kid')} |"
        )
    if rows[1:]:
        feats = rows[1][2].get("features", {})
        calib = {k: feats.get(k, {}).get("calibration", {}) for k in ("fid", "kid")}
        print(
            "\n# real vs real (10,000 training images vs the test images): "
            + ", ".join(
                f"{k.upper()} {c.get('value', float('nan')):.2f} +- {c.get('stderr') or float('nan'):.2f}"
                for k, c in calib.items()
            )
        )
    curves = {
        label: time_to_quality.curve(args.out / name)
        for label, name in RUNS.items()
        if (args.out / name / "selection.jsonl").is_file()
    }
    curves = {label: pts for label, pts in curves.items() if pts}
    if curves:
        print(
            "\ntime to quality (validation Parzen, the runs' model-selection signal):\n" + time_to_quality.table(curves)
        )
        time_to_quality.plot(curves, args.out / "time_to_quality.png", args.minutes)
    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus; torch {torch.__version__}",
        "train_wall_s": walls,
        "rows": [{"model": label, "checkpoint": which, "eval_wall_s": round(w, 1), **r} for label, which, r, w in rows],
    }
    (args.out / "table1.json").write_text(json.dumps(report, indent=1))
    print(f"\n# wrote {args.out / 'table1.json'}")


if __name__ == "__main__":
    main()
