"""One rank of tests/test_training_distributed.py, started twice with torchrun's environment (RANK, WORLD_SIZE, ...).

Usage: python tests/distributed_worker.py PLAN.json, where the plan lists the runs to train with
`gan train`'s own code (train_experiment, one process group for all of them) and where to write
what the test checks. Rank 0 writes RESULTS.json; every run directory is written by rank 0 alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from gan_cli import config as config_mod
from gan_cli import data
from gan_cli.errors import GanError
from gan_cli.training import distributed
from helpers import train_experiment
from gan_cli.training.console import Reporter
from gan_cli.training.ranks import Ranks


def generator_step_leaves_d_alone(config_path: str, ranks: Ranks) -> dict[str, Any]:
    """A few alternating steps, then one G step: D gets no gradient, and a gradient it has stays as it was."""
    cfg = config_mod.load(config_path, [])
    trainer = distributed.DistributedTrainer(cfg, data.load(cfg), torch.device("cpu"), ranks.rank, ranks.world)
    for _ in range(3):
        trainer.train_step()
    d_params = list(trainer.D.parameters())
    d_weights = [p.detach().clone() for p in d_params]
    for p in d_params:
        p.grad = None
    trainer.generator_step()
    none_after = all(p.grad is None for p in d_params)
    sentinel = [torch.full_like(p, float(ranks.rank + 7)) for p in d_params]
    for p, s in zip(d_params, sentinel):
        p.grad = s.clone()
    trainer.generator_step()
    kept = all(torch.equal(p.grad, s) for p, s in zip(d_params, sentinel))
    unmoved = all(torch.equal(p, w) for p, w in zip(d_params, d_weights))
    return {"d_grad_none_after_g_step": none_after, "d_grad_untouched_by_g_step": kept, "d_weights_unmoved": unmoved}


def setup_errors_are_reported_once(ranks: Ranks) -> str:
    """Rank 1 fails its setup: rank 0 raises the one message for everyone, rank 1 exits 1 quietly."""
    try:
        ranks.agree("no data here" if ranks.rank == 1 else None)
    except GanError as exc:
        return f"GanError: {exc}"
    except SystemExit as exc:
        return f"SystemExit: {exc.code}"
    return "passed"


def main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    ranks = Ranks.join()
    results: dict[str, Any] = {}
    for run in plan["runs"]:
        train_experiment(run["config"], run.get("set", []), out=run["out"], resume=run.get("resume", False), reporter=Reporter(quiet=True), ranks=ranks)
        ranks.finish()  # a fresh Ranks for the next run (each run agrees on its setup once), same process group
        ranks = Ranks(ranks.rank, ranks.world, ranks.local_rank, ranks.control)
    results["g_step"] = generator_step_leaves_d_alone(plan["g_step_config"], ranks)
    results["agree"] = setup_errors_are_reported_once(Ranks(ranks.rank, ranks.world, ranks.local_rank, ranks.control))
    # each rank's own training clock differs: the schedule keyed to the time budget goes by the slowest
    results["agree_seconds"] = ranks.agree_seconds(10.0 + ranks.rank)
    gathered: list[Any] = [None] * ranks.world
    torch.distributed.all_gather_object(gathered, results, group=ranks.control)
    if ranks.rank == 0:
        Path(plan["results"]).write_text(json.dumps(gathered), encoding="utf-8")
    ranks.close()


if __name__ == "__main__":
    main(sys.argv[1])
