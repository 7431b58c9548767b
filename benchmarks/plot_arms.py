"""Validation Parzen curves of ema_arms.py runs, side by side: against epochs and against training seconds.

    python benchmarks/plot_arms.py --out docs/curves_ema.png \
        "released, raw G=runs/arms-uniform/curves.jsonl:raw" \
        "released, G averaged 0.9995=runs/arms-uniform/curves.jsonl:0.9995:none" ...

Each curve is LABEL=CURVES_JSONL:ARM (the rows of one arm of benchmarks/ema_arms.py's output, or of
its --score-run). Error bars are the rows' standard errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("curves", nargs="+", help="LABEL=CURVES_JSONL:ARM")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--title",
        default="validation Parzen log-likelihood (10,000 kernels; sigma on valid 0..999, scored on 1,000..2,999)",
    )
    args = ap.parse_args()
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for i, spec in enumerate(args.curves):
        label, _, rest = spec.partition("=")
        path, _, arm = rest.partition(":")
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = sorted((r for r in rows if r["arm"] == arm), key=lambda r: r["step"])
        if not rows:
            raise SystemExit(f"no rows of arm {arm!r} in {path}")
        y = [r["valid_parzen"] for r in rows]
        e = [r["stderr"] for r in rows]
        style = {"color": f"C{i}", "marker": "o", "ms": 3, "capsize": 2, "label": label}
        by_epoch.errorbar([r["epoch"] for r in rows], y, yerr=e, **style)
        by_time.errorbar([r["train_s"] / 60 for r in rows], y, yerr=e, **style)
    for ax in (by_epoch, by_time):
        ax.axhline(225, color="k", ls=":", lw=1)
        ax.grid(alpha=0.3)
    by_epoch.text(
        0.01, 225, " paper's Table 1 (test): 225", fontsize=8, va="bottom", transform=by_epoch.get_yaxis_transform()
    )
    by_epoch.set_xlabel("epochs")
    by_time.set_xlabel("training minutes (one thread of a shared 2-core machine)")
    by_epoch.set_ylabel("nats")
    by_epoch.legend(fontsize=8, loc="lower right")
    fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
