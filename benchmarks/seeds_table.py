"""One recipe across seeds: each run's test Parzen (+- its s.e.) and FID, and their mean with a 95 %
Student-t interval across seeds.

    python benchmarks/seeds_table.py RUN_DIR... [--json docs/results/mnist_hour_seeds.json]

Each RUN_DIR is a run that `gan eval --ckpt RUN_DIR` has scored (its eval.json: the paper's Parzen
protocol on the split it names, FID in the shipped feature network), or the file `gan eval --json
FILE` wrote (an earlier checkpoint of a run, say). A sweep's trials are run directories, so
`SWEEP_DIR/seed=*` works, and runs trained apart can join them. The interval is
mean +- t(0.975, n - 1) s / sqrt(n) over the runs' values (gan_cli.sweep.intervals, the same
arithmetic as `gan sweep`'s table); it says how far the recipe's result moves with the seed, which
the per-run s.e. (the spread over test images of one model) does not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gan_cli import checkpoint
from gan_cli.sweep.intervals import mean_interval


def evaluation_of(run: Path) -> tuple[str, dict[str, Any]]:
    """(a label, the evaluation) of RUN: a run directory and its eval.json, or a file gan eval --json
    wrote, labelled RUN_DIR/FILE."""
    if run.is_file():
        return f"{run.parent.name}/{run.name}", json.loads(run.read_text(encoding="utf-8"))
    return run.name, json.loads((run / "eval.json").read_text(encoding="utf-8"))


def run_row(run: Path) -> dict[str, Any]:
    """Seed, epoch, minutes (from the scored checkpoint), and the eval.json metrics of one scored run."""
    name, evaluation = evaluation_of(run)
    metrics = evaluation["metrics"]
    scored = checkpoint.load(Path(evaluation["checkpoint"]))
    schedule = scored.get("schedule", {})
    return {
        "run": name,
        "seed": int(scored["config"]["seed"]),
        "split": evaluation["split"],
        "epoch": round(float(scored["epoch"]), 1),
        # train.max_minutes' measure: pictures and model selection not counted
        "training_minutes": round((schedule["elapsed"] - schedule["evaluation_s"]) / 60.0, 1),
        "minutes_with_selection": round(schedule["elapsed"] / 60.0, 1),
        "parzen": {"mean": metrics["parzen_ll"]["value"], "se": metrics["parzen_ll"]["stderr"]},
        "fid": {"mean": metrics["fid"]["value"], "se": metrics["fid"]["stderr"]},
    }


def across_seeds(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    interval = mean_interval([r[key]["mean"] for r in rows])
    return {
        "mean": interval.mean,
        "half_width": interval.half_width,
        "low": interval.low,
        "high": interval.high,
        "n": interval.n,
    }


def table(rows: list[dict[str, Any]], summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| seed | epoch | training minutes | Parzen, test (nats) | FID (MNIST-CNN) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['epoch']:g} | {r['training_minutes']} | {r['parzen']['mean']:.1f} ± {r['parzen']['se']:.1f} "
            f"| {r['fid']['mean']:.2f} ± {r['fid']['se']:.2f} |"
        )
    p, f = summary["parzen"], summary["fid"]
    if p["half_width"] is not None:
        lines.append(
            f"| mean, 95 % t-interval (n = {p['n']}) | | | **{p['mean']:.1f} ± {p['half_width']:.1f}** "
            f"({p['low']:.1f} to {p['high']:.1f}) | {f['mean']:.2f} ± {f['half_width']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="run directories scored by gan eval, or the JSON files it wrote")
    ap.add_argument("--json", type=Path, help="write the rows and the intervals here")
    args = ap.parse_args()
    rows = sorted((run_row(p) for p in args.runs), key=lambda r: r["seed"])
    splits = {r["split"] for r in rows}
    if len(splits) != 1:
        raise SystemExit(f"the runs were scored on different splits: {sorted(splits)}")
    summary = {key: across_seeds(rows, key) for key in ("parzen", "fid")}
    print(table(rows, summary))
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "across_seeds": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
