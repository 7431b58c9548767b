"""What the late rise of the learning rate does, checkpoint by checkpoint: Parzen and FID of G's
average against the epochs since the rise, over several runs of a recipe with one (say
configs/mnist_hour_rise_budget.yaml, whose rise the clock starts).

    gan eval --all RUN_DIR --split valid          # each run: every kept checkpoint scored alike
    python benchmarks/rise_phase.py RUN_DIR... --out docs/rise_phase.png \\
        --json docs/results/rise_phase.json

Each RUN_DIR holds the eval_all.jsonl of `gan eval --all` (validation images: no test image is looked
at). The epoch of the rise is read from the run's last checkpoint (`budget_schedule_epoch`, kept once
the clock reached `lr_schedule.start_at_budget`), else from `lr_schedule.start_epoch`. Printed and
written per run: each checkpoint's epochs since the rise, Parzen (nats, +- s.e. over validation
images), FID (+- bootstrap s.e.), precision and recall (feature space); and per run the least-squares slope of each against those epochs
(per 10 epochs), with the mean slope over runs and its 95 % t-interval (gan_cli.sweep.intervals), which
says whether the trend holds across seeds, where one run's points are too close to tell.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from gan_cli import checkpoint
from gan_cli.run_dir import RunDir
from gan_cli.sweep.intervals import mean_interval

METRICS = ("parzen_ll", "fid", "precision", "recall")
"""Recorded and fitted; the picture draws the first two."""


def rise_epoch(last: dict[str, Any]) -> int:
    """The epoch at whose end the run's lr schedule started, from its last checkpoint `last`."""
    started = last.get("schedule", {}).get("budget_schedule_epoch")
    if started is not None:
        return int(started)
    return int(last["config"]["train"]["optimizer"]["lr_schedule"]["start_epoch"])


def run_points(path: Path) -> dict[str, Any]:
    """One run: its seed, rise epoch and, per scored checkpoint, epochs since the rise and the metrics."""
    run = RunDir(path)
    rows = [json.loads(line) for line in run.eval_all.read_text(encoding="utf-8").splitlines() if line.strip()]
    last = checkpoint.load(run.last)
    rise = rise_epoch(last)
    epochs_per_step = float(last["epoch"]) / int(last["step"])  # batch size / training examples
    points = []
    for row in sorted(rows, key=lambda r: r["step"]):
        epoch = row["step"] * epochs_per_step
        points.append(
            {
                "step": row["step"],
                "epoch": round(epoch, 1),
                "since_rise": round(epoch - rise, 1),
                **{m: {"mean": row["metrics"][m]["value"], "se": row["metrics"][m]["stderr"]} for m in METRICS},
            }
        )
    splits = {row["split"] for row in rows}
    seed = int(last["config"]["seed"])
    return {"run": path.name, "seed": seed, "rise_after_epoch": rise, "split": splits.pop(), "points": points}


def slope_per_10_epochs(points: list[dict[str, Any]], metric: str) -> float:
    x = np.array([p["since_rise"] for p in points])
    y = np.array([p[metric]["mean"] for p in points])
    return float(np.polyfit(x, y, 1)[0] * 10.0)


def plot(runs: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_cli.figures.files import literal, save_figure

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for metric, ax, label in zip(
        METRICS[:2], axes, ("Parzen, validation (nats)", "FID, validation (MNIST-CNN)"), strict=True
    ):
        for r in runs:
            x = [p["since_rise"] for p in r["points"]]
            y = [p[metric]["mean"] for p in r["points"]]
            se = [p[metric]["se"] or 0.0 for p in r["points"]]
            ax.errorbar(
                x,
                y,
                yerr=se,
                marker="o",
                ms=3,
                capsize=2,
                label=literal(f"seed {r['seed']} (rise after epoch {r['rise_after_epoch']})"),
            )
        ax.set_xlabel("epochs since the x4 rise of the learning rate")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("G's average through the rise phase, each kept checkpoint (gan eval --all --split valid)")
    fig.tight_layout()
    save_figure(fig, out, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="run directories with the eval_all.jsonl of gan eval --all")
    ap.add_argument("--out", type=Path, help="the picture (PNG)")
    ap.add_argument("--json", type=Path, help="write the points and slopes here")
    args = ap.parse_args()
    runs = sorted((run_points(p) for p in args.runs), key=lambda r: r["seed"])
    if len({r["split"] for r in runs}) != 1:
        raise SystemExit("the runs were scored on different splits")
    for r in runs:
        r["slope_per_10_epochs"] = {m: slope_per_10_epochs(r["points"], m) for m in METRICS}
        first, last = r["points"][0], r["points"][-1]
        print(
            f"seed {r['seed']}: rise after epoch {r['rise_after_epoch']}; epochs {first['since_rise']:g} to "
            f"{last['since_rise']:g} since: Parzen {first['parzen_ll']['mean']:.2f} -> {last['parzen_ll']['mean']:.2f}, "
            f"FID {first['fid']['mean']:.2f} -> {last['fid']['mean']:.2f}; per 10 epochs: Parzen "
            f"{r['slope_per_10_epochs']['parzen_ll']:+.2f}, FID {r['slope_per_10_epochs']['fid']:+.2f}"
        )
    across: dict[str, Any] = {}
    for m in METRICS:
        iv = mean_interval([r["slope_per_10_epochs"][m] for r in runs])
        across[m] = {"mean": iv.mean, "low": iv.low, "high": iv.high, "n": iv.n}
        digits = 2 if m in METRICS[:2] else 4  # nats and FID points; precision and recall are fractions
        low = "n/a" if iv.low is None else f"{iv.low:+.{digits}f}"
        high = "n/a" if iv.high is None else f"{iv.high:+.{digits}f}"
        print(f"{m} per 10 epochs, mean over runs: {iv.mean:+.{digits}f} (95 % t-interval {low} to {high}, n = {iv.n})")
    if args.out:
        plot(runs, args.out)
        print(f"wrote {args.out}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "slope_per_10_epochs": across}, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
