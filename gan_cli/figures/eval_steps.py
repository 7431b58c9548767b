"""`gan eval --all`'s pictures: each metric of a run's checkpoints against the training step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_cli.errors import GanError  # noqa: E402
from gan_cli.runlog import is_finite  # noqa: E402


def plot_eval_steps(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """One PNG per metric in out_dir/NAME.png: value +- s.e. against step (generator updates),
    the real-vs-real calibration dashed where the metric has one. Returns the files written."""
    names: list[str] = []
    for r in rows:
        names += [n for n in r["metrics"] if n not in names]
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    for name in names:
        pts = [
            (r["step"], r["metrics"][name])
            for r in rows
            if name in r["metrics"] and is_finite(r["metrics"][name].get("value"))
        ]
        if not pts:
            continue
        steps = [s for s, _ in pts]
        values = [m["value"] for _, m in pts]
        errs = [m["stderr"] if is_finite(m.get("stderr")) else 0.0 for _, m in pts]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.errorbar(steps, values, yerr=errs, marker="o", ms=4, capsize=3, label="checkpoint")
        cal = [
            (s, m["calibration"]["value"])
            for s, m in pts
            if isinstance(m.get("calibration"), dict) and is_finite(m["calibration"].get("value"))
        ]
        if cal:
            ax.plot([s for s, _ in cal], [v for _, v in cal], ls="--", color="gray", marker="", label="real vs real")
            ax.legend(fontsize=8)
        label = pts[-1][1].get("label") or name
        ax.set_title(f"{name}: {label}", fontsize=9)
        ax.set_xlabel("training step (generator updates)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        try:
            fig.savefig(path, dpi=80)
        except OSError as exc:
            raise GanError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            plt.close(fig)
        written.append(path)
    return written
