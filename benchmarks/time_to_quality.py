"""Time to quality of MNIST runs: when each reached validation-Parzen levels, and one picture.

    python benchmarks/time_to_quality.py --out docs/time_to_quality.png \
        "mnist_averaged=runs/mnist_averaged:81" "its raw G=runs/mnist_averaged:81:raw" "mnist_fast=runs/mnist_fast"

Each run is LABEL=RUN_DIR[:FIRST_EPOCH[:raw]]. The signal is the run's own model selection
(`selection.jsonl`: each epoch, 10,000 samples of G (its average where the run keeps one) as Parzen
kernels scored on validation images 0..999, sigma the best of the paper's grid on the same images);
the time is the run's seconds at that step, cumulative over resumes: by default its wall clock
(`metrics.jsonl` "time", model selection and pictures included); with `--clock training`, the
training time that train.max_minutes counts ("training_time", model selection and pictures left
out), so a run's time budget ends at its budget line. FIRST_EPOCH skips earlier rows (a run whose early selection
used another number of kernels); `raw` reads the raw G's score, which a run that averages G logs
beside its average's. Prints a markdown table: for each level, the first epoch at or above
it and its training seconds; writes the picture (validation Parzen against epochs and against
training minutes) when --out is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

LEVELS = (100.0, 150.0, 200.0, 225.0)
PAPER = 225.0


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def curve(
    run_dir: Path, first_epoch: float = 0.0, raw: bool = False, clock: str = "time"
) -> list[tuple[float, float, float]]:
    """(epoch, seconds, validation Parzen) per selection row of the run, in order (the raw G's score
    with `raw`); the seconds are metrics.jsonl's `clock` column: "time" (wall) or "training_time"."""
    key = "valid_parzen_raw" if raw else "valid_parzen"
    seconds = {int(r["step"]): float(r[clock]) for r in _rows(run_dir / "metrics.jsonl") if clock in r}
    out = []
    for r in _rows(run_dir / "selection.jsonl"):
        step = int(r["step"])
        if float(r["epoch"]) < first_epoch or step not in seconds or key not in r:
            continue
        out.append((float(r["epoch"]), seconds[step], float(r[key])))
    return out


def first_reach(points: list[tuple[float, float, float]], level: float) -> tuple[float, float] | None:
    """(epoch, seconds) of the first point whose validation Parzen is >= level; None if none is."""
    return next(((e, s) for e, s, v in points if v >= level), None)


def reached(curves: dict[str, list[tuple[float, float, float]]], levels: tuple[float, ...]) -> dict[str, Any]:
    """Per run: for each level, the first epoch at or above it and its minutes (None: not reached);
    and the last row's epoch, minutes and validation Parzen."""
    out: dict[str, Any] = {}
    for label, pts in curves.items():
        hits = {f"{lv:g}": first_reach(pts, lv) for lv in levels}
        out[label] = {
            "levels": {
                k: None if h is None else {"epoch": h[0], "minutes": round(h[1] / 60, 1)} for k, h in hits.items()
            },
            "last": {"epoch": pts[-1][0], "minutes": round(pts[-1][1] / 60, 1), "valid_parzen": round(pts[-1][2], 2)},
        }
    return out


def table(curves: dict[str, list[tuple[float, float, float]]], levels: tuple[float, ...] = LEVELS) -> str:
    head = "| recipe | " + " | ".join(f"{lv:g} nats" for lv in levels) + " | last: epoch, minutes, valid |"
    lines = [head, "|" + "---|" * (len(levels) + 2)]
    for label, pts in curves.items():
        cells = []
        for lv in levels:
            hit = first_reach(pts, lv)
            if hit is None:
                cells.append(f"not by {pts[-1][0]:g}" if pts else "-")
            elif hit == pts[0][:2] and pts[0][0] > 1:
                cells.append(f"by epoch {hit[0]:g}")  # already there at the first row counted
            else:
                cells.append(f"epoch {hit[0]:g} ({hit[1] / 60:.0f} min)")
        e, s, v = pts[-1] if pts else (float("nan"),) * 3
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {e:g}, {s / 60:.0f}, {v:.1f} |")
    return "\n".join(lines)


def plot(
    curves: dict[str, list[tuple[float, float, float]]], out: Path, budget_min: float | None, clock: str = "time"
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for label, pts in curves.items():
        epochs, secs, vals = zip(*pts)
        by_epoch.plot(epochs, vals, label=label, lw=1.4)
        by_time.plot([s / 60 for s in secs], vals, label=label, lw=1.4)
    for ax in (by_epoch, by_time):
        ax.axhline(PAPER, color="k", ls="--", lw=0.9, label="the paper's Table 1 (225)")
        ax.grid(alpha=0.3)
    if budget_min:
        by_time.axvline(budget_min, color="grey", ls=":", lw=1, label=f"{budget_min:g}-minute budget")
    lows = [v for pts in curves.values() for _, _, v in pts]
    by_epoch.set_ylim(max(min(lows), 0.0) - 5, max(max(lows), PAPER) + 10)
    by_epoch.set_xlabel("epoch")
    which = "training minutes (model selection left out)" if clock == "training_time" else "minutes"
    by_time.set_xlabel(f"{which}\n2-core CPU, one thread a run unless the label says")
    by_epoch.set_ylabel("validation Parzen log-likelihood (nats)")
    by_time.legend(loc="lower right", fontsize=8)
    fig.suptitle("time to quality: model-selection signal (10,000 kernels, validation images 0..999)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def parse(spec: str) -> tuple[str, Path, float, bool]:
    label, sep, rest = spec.partition("=")
    if not sep:
        raise SystemExit(f"{spec!r}: expected LABEL=RUN_DIR[:FIRST_EPOCH[:raw]]")
    path, _, tail = rest.partition(":")
    first, _, which = tail.partition(":")
    return label, Path(path), float(first) if first else 0.0, which == "raw"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR[:FIRST_EPOCH[:raw]]")
    ap.add_argument("--out", type=Path, help="the PNG to write")
    ap.add_argument("--budget-minutes", type=float, default=120.0, help="a vertical line on the time panel")
    ap.add_argument("--levels", type=float, nargs="+", default=list(LEVELS), help="validation Parzen levels (nats)")
    ap.add_argument("--json", type=Path, help="write, per run and level, the first epoch and minutes at or above it")
    ap.add_argument(
        "--clock",
        choices=("wall", "training"),
        default="wall",
        help="minutes of the wall clock (model selection included) or of training (train.max_minutes' measure)",
    )
    args = ap.parse_args()
    clock = "training_time" if args.clock == "training" else "time"
    curves = {}
    for spec in args.runs:
        label, run_dir, first, raw = parse(spec)
        curves[label] = curve(run_dir, first, raw, clock)
        if not curves[label]:
            raise SystemExit(f"{run_dir}: no selection rows (selection.jsonl, metrics.jsonl)")
    print(table(curves, tuple(args.levels)))
    if args.json:
        args.json.write_text(json.dumps(reached(curves, tuple(args.levels)), indent=1) + "\n")
    if args.out:
        plot(curves, args.out, args.budget_minutes, clock)
        print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
