"""Two scored runs on the same held-out images: the paired difference of their Parzen log-likelihoods.

    python benchmarks/paired_parzen.py RUN_A RUN_B [RUN_A2 RUN_B2 ...] [--json FILE]

Each RUN is a run directory that `gan eval --ckpt RUN` scored (its eval.json), or the file that
`gan eval --json FILE` wrote. Its kernels are drawn again by gan eval's own function
(image_likelihood.parzen_kernels: G of the scored checkpoint, the evaluation's seed,
eval.parzen.kernels samples) and each scored image's log-likelihood is computed at the sigma gan eval
chose, on the images gan eval scored (images.parzen_split: the test split, or with `--split valid`
the validation images after the ones that chose sigma, so that arms can be decided without a look
at the test set); the means must equal the evaluation's to 1e-9, else the script stops. Both
evaluations must have scored the same split. The difference B - A is averaged over the scored
images with its standard error over them: both runs are scored on the same images, so this s.e. is
smaller than either run's own (about 2.2 nats on MNIST's test set) and says whether a change of
recipe moved the score at all. It says nothing about other seeds: give one pair per seed (the
same seed's two recipes) and the mean difference is printed with its 95 % t-interval over seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from gan_cli import data
from gan_cli.evaluate import parzen
from gan_cli.evaluate.image_likelihood import parzen_kernels
from gan_cli.evaluate.images import parzen_split
from gan_cli.sample import load_models
from gan_cli.sweep.intervals import mean_interval

sys.path.insert(0, str(Path(__file__).parent))
from seeds_table import evaluation_of  # noqa: E402


def scored_log_likelihoods(run: Path) -> tuple[torch.Tensor, str, dict[str, Any]]:
    """Per-image Parzen log-likelihoods (nats) of the checkpoint that RUN's evaluation scored, on the
    images it scored; RUN's label and its evaluation (RUN/eval.json, or RUN itself when a file)."""
    name, evaluation = evaluation_of(run)
    scored = evaluation["metrics"]["parzen_ll"]
    loaded = load_models(Path(evaluation["checkpoint"]), torch.device("cpu"), weights=evaluation["weights"])
    ds = data.load(loaded.cfg)
    images = parzen_split(ds.valid, evaluation["split"], ds.test, scored["n_valid"])[1]
    centres = parzen_kernels(loaded, scored["n_kernels"], evaluation["seed"])
    ll = parzen.log_likelihoods(images, centres, [scored["sigma"]])[0].double()
    if abs(float(ll.mean()) - scored["value"]) > 1e-9:
        raise SystemExit(f"{run}: the kernels drawn again score {float(ll.mean())}, eval.json says {scored['value']}")
    return ll, name, evaluation


def paired(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Both means and the paired difference B - A with its s.e. over the images both scored."""
    (a, name_a, eval_a), (b, name_b, eval_b) = (scored_log_likelihoods(run) for run in (run_a, run_b))
    if eval_a["split"] != eval_b["split"] or len(a) != len(b):
        raise SystemExit(
            f"{run_a} scored {len(a):,} {eval_a['split']} images, {run_b} {len(b):,} {eval_b['split']} "
            "images: score both on the same split with the same eval.parzen.valid_examples"
        )
    d = b - a
    result = {
        "split": eval_a["split"],
        "a": {"run": name_a, "step": eval_a["step"], "parzen": float(a.mean())},
        "b": {"run": name_b, "step": eval_b["step"], "parzen": float(b.mean())},
        "difference": {"mean": float(d.mean()), "se": float(d.std() / math.sqrt(len(d))), "n": len(d)},
    }
    print(
        f"{result['a']['run']} {result['a']['parzen']:.2f}, {result['b']['run']} {result['b']['parzen']:.2f} nats; "
        f"B - A = {result['difference']['mean']:.2f} +- {result['difference']['se']:.2f} "
        f"(s.e. over {len(d):,} {eval_a['split']} images)"
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="RUN_A RUN_B, or several pairs A1 B1 A2 B2 ... (one per seed)")
    ap.add_argument("--json", type=Path, help="write both means and the paired difference (per pair) here")
    args = ap.parse_args()
    if len(args.runs) % 2:
        raise SystemExit(f"{len(args.runs)} runs given: pairs need an even number (A1 B1 A2 B2 ...)")
    pairs = [paired(a, b) for a, b in zip(args.runs[::2], args.runs[1::2], strict=True)]
    result: dict[str, Any] = pairs[0]
    if len(pairs) > 1:
        if len({p["split"] for p in pairs}) != 1:
            raise SystemExit("the pairs were scored on different splits: score every run on one split")
        # each pair one seed: the spread of the paired differences over seeds is what a change of
        # recipe is judged by (gan_cli.sweep.intervals, the t-interval gan sweep prints)
        interval = mean_interval([p["difference"]["mean"] for p in pairs])
        across = {
            "mean": interval.mean,
            "half_width": interval.half_width,
            "low": interval.low,
            "high": interval.high,
            "n": interval.n,
        }
        print(
            f"over {interval.n} pairs: B - A = {interval.mean:.2f}, 95 % t-interval {interval.low:.2f} to {interval.high:.2f}"
        )
        result = {"split": pairs[0]["split"], "pairs": pairs, "across_pairs": across}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
