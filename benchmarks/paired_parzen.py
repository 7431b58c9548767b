"""Two scored runs on the same test images: the paired difference of their Parzen log-likelihoods.

    python benchmarks/paired_parzen.py RUN_A RUN_B [--json FILE]

Each RUN is a run directory that `gan eval --ckpt RUN --split test` scored. Its kernels are drawn
again by gan eval's own function (image_likelihood.parzen_kernels: G of the scored checkpoint, the
evaluation's seed, eval.parzen.kernels samples) and each test image's log-likelihood is computed
at the sigma gan eval chose; the means must equal eval.json's to 1e-9, else the script stops. The difference B - A is
averaged over the test images with its standard error over them: both runs are scored on the same
images, so this s.e. is smaller than either run's own (about 2.2 nats on MNIST) and says whether a
change of recipe moved the score at all. It says nothing about other seeds.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import torch

from gan_cli import data
from gan_cli.evaluate import parzen
from gan_cli.evaluate.image_likelihood import parzen_kernels
from gan_cli.sample import load_models


def test_log_likelihoods(run: Path) -> tuple[torch.Tensor, dict[str, Any]]:
    """Per-test-image Parzen log-likelihoods of RUN's scored checkpoint (nats), and its eval.json."""
    evaluation = json.loads((run / "eval.json").read_text(encoding="utf-8"))
    if evaluation["split"] != "test":
        raise SystemExit(f"{run}: scored on the {evaluation['split']} split; run gan eval --ckpt {run} --split test")
    scored = evaluation["metrics"]["parzen_ll"]
    loaded = load_models(Path(evaluation["checkpoint"]), torch.device("cpu"), weights=evaluation["weights"])
    ds = data.load(loaded.cfg)
    centres = parzen_kernels(loaded, scored["n_kernels"], evaluation["seed"])
    ll = parzen.log_likelihoods(ds.test, centres, [scored["sigma"]])[0].double()
    if abs(float(ll.mean()) - scored["value"]) > 1e-9:
        raise SystemExit(f"{run}: the kernels drawn again score {float(ll.mean())}, eval.json says {scored['value']}")
    return ll, evaluation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--json", type=Path, help="write both means and the paired difference here")
    args = ap.parse_args()
    (a, eval_a), (b, eval_b) = (test_log_likelihoods(run) for run in (args.run_a, args.run_b))
    d = b - a
    result = {
        "a": {"run": args.run_a.name, "step": eval_a["step"], "parzen": float(a.mean())},
        "b": {"run": args.run_b.name, "step": eval_b["step"], "parzen": float(b.mean())},
        "difference": {"mean": float(d.mean()), "se": float(d.std() / math.sqrt(len(d))), "n": len(d)},
    }
    print(
        f"{args.run_a.name} {result['a']['parzen']:.2f}, {args.run_b.name} {result['b']['parzen']:.2f} nats; "
        f"B - A = {result['difference']['mean']:.2f} +- {result['difference']['se']:.2f} (s.e. over {len(d):,} test images)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
