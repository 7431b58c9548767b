"""Arms branched from one run's checkpoint, compared at equal epochs on the run's own selection signal.

    python benchmarks/branch_arms.py "constant lr=runs/fast60" "lr to 0 over epochs 195-237=runs/armB1" \
        --from-epoch 185 --out docs/lr_decay_arms.png --json docs/results/lr_decay_arms.json \
        --epochs 195 200 210 220 230 236

An arm is a copy of a run directory whose checkpoints/last.pt is one of the run's step checkpoints,
resumed with a changed setting that agrees with the run on every update so far (`gan train --resume`
allows that, e.g. an lr decay that starts after the checkpoint): until the branch point the arms
are the same run, so every difference after it is the setting's, at the same seed, data order and
noise. The signal is each run's `selection.jsonl` (10,000 samples of G as Parzen kernels on
validation images 0..999: the averaged G's `valid_parzen` and the raw G's `valid_parzen_raw`), so
no test image is looked at. Prints a markdown table at --epochs and draws both G's against epochs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

from gan_cli import runlog
from gan_cli.run_dir import RunDir

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def signal(run_dir: Path) -> dict[int, dict[str, float]]:
    """epoch -> {averaged, raw} validation Parzen (nats) from RUN_DIR/selection.jsonl."""
    return {
        int(r["epoch"]): {"averaged": float(r["valid_parzen"]), "raw": float(r.get("valid_parzen_raw", "nan"))}
        for r in runlog.read_rows(RunDir(run_dir).selection)
    }


def table(arms: dict[str, dict[int, dict[str, float]]], epochs: list[int]) -> str:
    lines = ["| arm | " + " | ".join(f"epoch {e}" for e in epochs) + " |", "|---|" + "---|" * len(epochs)]
    for label, rows in arms.items():
        cells = [f"{rows[e]['averaged']:.1f} / {rows[e]['raw']:.1f}" if e in rows else "-" for e in epochs]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(arms: dict[str, dict[int, dict[str, float]]], first: int, out: Path) -> None:
    fig, (avg_ax, raw_ax) = plt.subplots(1, 2, figsize=(12, 4.4))
    for label, rows in arms.items():
        epochs = [e for e in sorted(rows) if e >= first]
        avg_ax.plot(epochs, [rows[e]["averaged"] for e in epochs], lw=1.4, label=label)
        raw_ax.plot(epochs, [rows[e]["raw"] for e in epochs], lw=1.4, label=label)
    for ax, which in ((avg_ax, "G averaged (train.ema)"), (raw_ax, "raw G")):
        ax.set_title(which)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    avg_ax.set_ylabel("validation Parzen log-likelihood (nats)")
    raw_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(
        "arms branched from one run at equal epochs: model-selection signal (10,000 kernels, validation 0..999)"
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arms", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("--from-epoch", type=int, default=0, help="first epoch drawn")
    ap.add_argument("--epochs", type=int, nargs="+", required=True, help="epochs of the table")
    ap.add_argument("--out", type=Path, help="the PNG to write")
    ap.add_argument("--json", type=Path, help="the table's numbers, per arm and epoch")
    args = ap.parse_args()
    arms: dict[str, dict[int, dict[str, float]]] = {}
    for spec in args.arms:
        label, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"{spec!r}: expected LABEL=RUN_DIR")
        arms[label] = signal(Path(path))
    print(table(arms, args.epochs))
    if args.out:
        plot(arms, args.from_epoch, args.out)
        print(f"# wrote {args.out}")
    if args.json:
        data: dict[str, Any] = {
            label: {str(e): rows[e] for e in args.epochs if e in rows} for label, rows in arms.items()
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
