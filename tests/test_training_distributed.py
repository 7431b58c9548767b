"""Several processes (torchrun, gloo on the CPU) train the GAN one process with the global batch would.

Two ranks with train.batch_size B each give, after 20 steps, the weights (to 1e-5) of one process
with batch 2B fed the same examples and the same noise: alternating k = 1, k = 3, and simultaneous.
The configs have no dropout: each rank draws its own dropout masks, which one process cannot draw
in the same order, so with dropout the two runs differ by construction (as two seeds do). After a
generator step D has received no gradient. A 2-rank run resumed from its checkpoint is the
uninterrupted run bit for bit, and a 1-process checkpoint resumes with 2 ranks.

One pair of worker processes (tests/distributed_worker.py) trains every run with `gan train`'s own
code; the reference runs are computed here, in one process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import (
    REPO,
    UPDATE_SCHEMES,
    metrics_rows,
    run_ranks,
    tiny_toy_config,
    train_experiment,
    write_config,
)

from gan_cli import checkpoint, data, models, seeds
from gan_cli import config as config_mod
from gan_cli.data import EpochSampler
from gan_cli.training.console import Reporter
from gan_cli.training.distributed import ShardedSampler, step_seed
from gan_cli.training.loop import Trainer

WORLD = 2
B = 16  # per rank: 256 examples / 32 = 8 global batches per epoch, so 20 steps cross epoch boundaries
STEPS = 20
NO_DROPOUT = {"hidden": [{"units": 8, "activation": "maxout", "pieces": 2, "dropout": 0.0}], "output_dropout": 0.0}
CASES = UPDATE_SCHEMES

def case_config(steps: int = STEPS, **train: Any) -> dict[str, Any]:
    return tiny_toy_config(
        discriminator=NO_DROPOUT,
        train={**tiny_toy_config()["train"], "batch_size": B, "steps": steps, **train},
        log={"every": 5, "samples_every": 1_000_000, "checkpoint_every": 10, "keep": 1, "picture_samples": 16},
    )


def one_process_reference(config_path: Path, steps: int = STEPS) -> Trainer:
    """One process, batch WORLD*B, the same examples, and each rank's noise: in every step, the
    first B noise rows of each draw come from rank 0's generator of that step, the next B from rank 1's."""
    cfg = config_mod.load(config_path, [f"train.batch_size={WORLD * B}"])
    trainer = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    gens: list[torch.Generator] = []

    def noise(n: int) -> torch.Tensor:
        c = cfg.noise
        return torch.cat([models.sample_noise(n // WORLD, c.dim, c.prior, c.scale, torch.device("cpu"), g) for g in gens])

    trainer.fast.eager.noise = noise
    while trainer.step < steps:
        gens[:] = [torch.Generator().manual_seed(step_seed(cfg, r, trainer.step)) for r in range(WORLD)]
        trainer.train_step()
    return trainer


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every 2-rank run of this file, trained by one pair of worker processes."""
    tmp = tmp_path_factory.mktemp("ranks")
    runs = []
    for name, train in CASES.items():
        runs.append({"config": str(write_config(tmp / f"{name}.yaml", case_config(**train))), "out": str(tmp / name)})
    # the first case again, stopped at step 10 and resumed to 20
    split = str(tmp / "split")
    runs.append({"config": runs[0]["config"], "out": split, "set": ["train.steps=10"]})
    runs.append({"config": None, "out": split, "resume": True, "set": [f"train.steps={STEPS}"]})
    # a checkpoint of one process (made here), resumed by two
    single = tmp / "single"
    single_cfg = write_config(tmp / "single.yaml", case_config(steps=6))
    train_experiment(str(single_cfg), [], out=str(single), reporter=Reporter(quiet=True))
    runs.append({"config": None, "out": str(single), "resume": True, "set": ["train.steps=10"]})
    plan = {"runs": runs, "g_step_config": runs[0]["config"], "results": str(tmp / "results.json")}
    plan_path = tmp / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    done = run_ranks(REPO / "tests" / "distributed_worker.py", [str(plan_path)], world=WORLD)
    report = "\n".join(f"rank {rank} (exit {proc.returncode}):\n{proc.stderr[-3000:]}" for rank, proc in enumerate(done))
    assert all(proc.returncode == 0 for proc in done), report
    return {"tmp": tmp, "results": json.loads((tmp / "results.json").read_text(encoding="utf-8"))}


def weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in state.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_of_batch_b_train_what_one_process_of_batch_2b_trains(two_ranks: dict[str, Any], name: str) -> None:
    run = two_ranks["tmp"] / name
    ckpt = checkpoint.load(run)
    assert ckpt["step"] == STEPS
    ref = one_process_reference(two_ranks["tmp"] / f"{name}.yaml")
    for net, module in (("generator", ref.G), ("discriminator", ref.D)):
        for key, expected in module.state_dict().items():
            torch.testing.assert_close(ckpt[net][key], expected, rtol=0, atol=1e-5, msg=f"{name}: {net}.{key}")
    # rank 0 alone wrote the log: one row per log step, the metrics averaged over the ranks
    assert [r["step"] for r in metrics_rows(run)] == [5, 10, 15, 20]
    assert "global batch 32 = 2 x train.batch_size 16" in (run / "command.txt").read_text(encoding="utf-8")
    assert (run / "config.yaml").read_text(encoding="utf-8").startswith("# 2 processes")


@pytest.mark.slow
def test_a_generator_step_gives_d_no_gradient(two_ranks: dict[str, Any]) -> None:
    for rank, result in enumerate(two_ranks["results"]):
        assert result["g_step"] == {"d_grad_none_after_g_step": True, "d_grad_untouched_by_g_step": True, "d_weights_unmoved": True}, rank


@pytest.mark.slow
def test_a_setup_error_of_one_rank_stops_every_rank_and_rank_0_says_it_once(two_ranks: dict[str, Any]) -> None:
    assert [r["agree"] for r in two_ranks["results"]] == ["GanError: rank 1: no data here", "SystemExit: 1"]


@pytest.mark.slow
def test_every_rank_goes_by_the_slowest_ranks_training_clock(two_ranks: dict[str, Any]) -> None:
    """A schedule keyed to the time budget starts at the same epoch on every rank, or their lrs part."""
    assert [r["agree_seconds"] for r in two_ranks["results"]] == [11.0, 11.0]


@pytest.mark.slow
def test_two_ranks_resumed_at_step_10_end_where_the_uninterrupted_run_ends(two_ranks: dict[str, Any]) -> None:
    straight, split = checkpoint.load(two_ranks["tmp"] / "alternating-k1"), checkpoint.load(two_ranks["tmp"] / "split")
    assert split["step"] == straight["step"] == STEPS
    for net in ("generator", "discriminator"):
        for key, value in straight[net].items():
            assert torch.equal(split[net][key], value), f"{net}.{key}"


@pytest.mark.slow
def test_a_one_process_checkpoint_resumes_with_two(two_ranks: dict[str, Any]) -> None:
    run = two_ranks["tmp"] / "single"
    assert checkpoint.load(run)["step"] == 10
    assert [r["step"] for r in metrics_rows(run)] == [5, 6, 10]  # 6: the end of the one-process run
    command = (run / "command.txt").read_text(encoding="utf-8")
    assert "resumed from step 6" in command and "the data order restarts at the epoch boundary" in command


# ---------------------------------------------------------------- no processes


def test_the_ranks_shards_make_up_the_one_process_batch() -> None:
    one = EpochSampler(100, WORLD * 8, 5, torch.device("cpu"))
    shards = [ShardedSampler(100, 8, WORLD, r, 5, torch.device("cpu")) for r in range(WORLD)]
    for _ in range(2 * one.batches_per_epoch + 1):  # across epoch boundaries
        parts = [s.next() for s in shards]
        assert torch.equal(torch.cat(parts), one.next())
        assert len(set(parts[0].tolist()) & set(parts[1].tolist())) == 0
    assert shards[0].batches_per_epoch == one.batches_per_epoch == 100 // (WORLD * 8)


def test_an_order_cut_in_another_global_batch_restarts_at_the_epoch_boundary() -> None:
    saved = EpochSampler(100, 20, seeds.derive(0, seeds.TRAIN_DATA_ORDER), torch.device("cpu"))
    for _ in range(2):
        saved.next()
    state = saved.state_dict()
    resumed = EpochSampler(100, 10, 0, torch.device("cpu"))
    resumed.load_state_dict(state)
    assert resumed.restarted and resumed.fractional_epoch == 1.0
    saved.position = saved.batches_per_epoch  # what the saved run draws at its next epoch
    assert torch.equal(resumed.next(), saved.next()[:10]), "the next epoch's permutation, from the saved generator"
    same = EpochSampler(100, 20, 0, torch.device("cpu"))
    same.load_state_dict(state)
    assert not same.restarted and same.position == 2
