"""Does the shipped network's FID print the same digits on other CPUs? The real-vs-real calibration
(benchmarks/reference_features.py measure: validation vs test, and the network's own training
images vs test, 10,000 each) computed in fresh processes under the kernels other x86-64 machines
would run: torch's own kernels (ATEN_CPU_CAPABILITY), oneDNN's convolutions (ONEDNN_MAX_CPU_ISA)
and MKL's matrix products (MKL_ENABLE_INSTRUCTIONS) capped at AVX2 (most laptops and older
servers) and at SSE4 (any x86-64 since 2008), and with one and two threads. Each variant is
compared with this machine's own kernels at full precision, and its figures rounded as the docs
print them (4 decimals) with docs/results/reference_features.json.

Not covered: ARM (Apple M-series, Graviton) and GPUs run other kernels again; see docs/image_metrics.md.

Usage: python benchmarks/fid_portability.py [--root DIR] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import cpu_name  # noqa: E402
from reference_features import DEFAULT_ROOT, KEYS, RESULT, calibration_figures, figures  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "results" / "fid_portability.json"
CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
# name -> (threads, the three caps; None leaves the variable unset: the machine's best)
VARIANTS: dict[str, tuple[int, tuple[str | None, str | None, str | None]]] = {
    "this_cpu_1_thread": (1, (None, None, None)),
    "this_cpu_2_threads": (2, (None, None, None)),
    "avx2_1_thread": (1, ("avx2", "AVX2", "AVX2")),
    "sse4_1_thread": (1, ("default", "SSE41", "SSE4_2")),
}


def child(root: Path, threads: int) -> None:
    """One variant, in this process: print the unrounded figures as one JSON line."""
    cal, seen, _, _ = calibration_figures(root, threads)

    def plain(c: dict) -> dict:
        out = {k: {"value": float(c[k]["value"]), "stderr": float(c[k]["stderr"])} for k in KEYS}
        out["fid"]["pair"] = c["fid"]["pair"]
        return out

    print(
        json.dumps(
            {
                "calibration": plain(cal),
                "training_images": plain(seen),
                "aten_capability": torch.backends.cpu.get_cpu_capability(),
            }
        )
    )


def cap_env(caps: tuple[str | None, ...]) -> dict[str, str]:
    """The environment variables a variant sets (those it leaves at None stay unset)."""
    return {k: v for k, v in zip(CAPS, caps, strict=True) if v is not None}


def run_variant(root: Path, threads: int, caps: tuple[str | None, ...]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in CAPS} | cap_env(caps)
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--root", str(root)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def largest_difference(a: dict, b: dict) -> tuple[float, str]:
    """The largest |a - b| over both pairs' metrics and their s.e., at full precision, and where."""
    return max(
        (abs(a[pair][k][field] - b[pair][k][field]), f"{pair}.{k}.{field}")
        for pair in ("calibration", "training_images")
        for k in KEYS
        for field in ("value", "stderr")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder with the four MNIST .gz files")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(REPO)}")
    args = ap.parse_args()
    if args.child:
        child(args.root, args.threads)
        return
    printed = json.loads(RESULT.read_text())
    t0 = time.perf_counter()
    runs = {name: run_variant(args.root, threads, caps) for name, (threads, caps) in VARIANTS.items()}
    base = runs["this_cpu_1_thread"]
    print(f"{cpu_name()}, torch {torch.__version__}; {time.perf_counter() - t0:.0f} s")
    print("| kernels | torch capability | FID valid vs test | FID train vs test | largest difference | docs' digits |")
    print("|---|---|---|---|---|---|")
    rows = {}
    for name, r in runs.items():
        same = all(figures(r[pair]) == printed[pair] for pair in ("calibration", "training_images"))
        difference, where = largest_difference(r, base)
        rows[name] = {
            "threads": VARIANTS[name][0],
            "env": cap_env(VARIANTS[name][1]),
            "aten_capability": r["aten_capability"],
            "fid_calibration": r["calibration"]["fid"]["value"],
            "fid_training_images": r["training_images"]["fid"]["value"],
            "largest_difference": difference,
            "largest_difference_in": where if difference else None,
            "docs_digits_equal": same,
        }
        print(
            f"| {name} | {r['aten_capability']} | {r['calibration']['fid']['value']:.10f} | "
            f"{r['training_images']['fid']['value']:.10f} | {difference:.2e} ({where if difference else '-'}) | "
            f"{'equal' if same else 'DIFFER'} |"
        )
    if args.write:
        result = {
            "about": "the real-vs-real calibration of benchmarks/reference_features.py measure (FID, KID, precision, "
            "recall, density, coverage and their s.e., validation vs test and training vs test, 10,000 images each, "
            "in the shipped MNIST network's features) in fresh processes under other CPUs' kernels: torch's "
            "(ATEN_CPU_CAPABILITY), oneDNN's (ONEDNN_MAX_CPU_ISA) and MKL's (MKL_ENABLE_INSTRUCTIONS) capped at AVX2 "
            "and at SSE4, and with one and two threads. largest_difference: the largest absolute difference of any "
            "of those figures from this CPU's own kernels on one thread, at full precision, and in which; docs_digits_equal: "
            "every figure rounded to the docs' 4 decimals equals docs/results/reference_features.json.",
            "measured": {
                "command": "python benchmarks/fid_portability.py --write",
                "date": datetime.date.today().isoformat(),
                "hardware": cpu_name(),
                "machine": platform.machine(),
                "torch": str(torch.__version__),
            },
            "variants": rows,
            "all_docs_digits_equal": all(r["docs_digits_equal"] for r in rows.values()),
            "largest_difference": max(r["largest_difference"] for r in rows.values()),
        }
        OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
