"""What the Parzen window rewards: Table 1's protocol with real images, and with prototypes of them,
as the kernels.

    python benchmarks/parzen_prototypes.py --root MNIST_ROOT [--json docs/results/parzen_prototypes.json]

Table 1's calibration row scores 10,000 real training images as the kernels (about 241 nats on
the test set): the score of samples exactly like the data. Theis, van den Oord and Bethge ("A
note on the evaluation of generative models", ICLR 2016) showed that the estimate is no ceiling
there: k-means centres of the training set, which are blurred averages of digits, scored higher
than the data in their table. This measures it with the project's own estimator
(gan_cli.evaluate.parzen.paper_protocol: sigma from the paper's grid chosen on validation images
0..999, then the 10,000 test images), for kernels that are

- 10,000 real training images (0..9,999), the calibration row;
- the centres of k-means (scikit-learn's KMeans, Lloyd's algorithm from k random training images,
  seed 0) fitted to all 50,000 training images, for each k given (default 10,000, Table 1's
  kernel count, and 1,000).

A generator whose samples scored above the calibration row would then be one that draws
prototypes, not digits: the Parzen score alone cannot say which it is.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from parzen_protocol import N_KERNELS as N_REAL  # benchmarks/parzen_protocol.py, beside this script
from parzen_protocol import mnist_splits

from gan_cli.evaluate import parzen


def kmeans_centres(train: torch.Tensor, k: int, seed: int = 0) -> tuple[torch.Tensor, dict[str, Any]]:
    """k-means centres of `train` and how the fit went (iterations, seconds, inertia per image)."""
    from sklearn.cluster import KMeans

    start = time.perf_counter()
    fit = KMeans(n_clusters=k, n_init=1, init="random", max_iter=100, random_state=seed, algorithm="lloyd")
    fit.fit(train.numpy())
    info = {
        "iterations": int(fit.n_iter_),
        "seconds": round(time.perf_counter() - start, 1),
        "inertia_per_image": float(fit.inertia_) / len(train),
    }
    return torch.from_numpy(fit.cluster_centers_.astype(np.float32)), info


def scored(kernels: torch.Tensor, valid: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
    r = parzen.paper_protocol(kernels, valid, test)
    return {"parzen": {"mean": r["mean"], "se": r["stderr"]}, "sigma": r["sigma"], "n_test": r["n"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True, help="data.root of MNIST (its MNIST/raw files)")
    ap.add_argument("--k", type=int, nargs="+", default=[10_000, 1_000], help="k-means cluster counts")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()
    train, valid, test = mnist_splits(args.root)
    print(
        f"MNIST: {len(train):,} training, {len(valid):,} validation (sigma), {len(test):,} test images; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs"
    )
    rows: dict[str, Any] = {"real_images": {"kernels": N_REAL, **scored(train[:N_REAL], valid, test)}}
    print(
        f"real training images 0..{N_REAL - 1:,}: {rows['real_images']['parzen']['mean']:.2f} ± {rows['real_images']['parzen']['se']:.2f} nats"
    )
    for k in args.k:
        centres, info = kmeans_centres(train, k)
        rows[f"kmeans_{k}"] = {"kernels": k, **scored(centres, valid, test), "fit": info}
        r = rows[f"kmeans_{k}"]
        print(
            f"k-means centres, k = {k:,} ({info['iterations']} iterations, {info['seconds']} s): "
            f"{r['parzen']['mean']:.2f} ± {r['parzen']['se']:.2f} nats (sigma {r['sigma']:.3f})"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
