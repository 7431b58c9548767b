"""gan_cli.seeds: one derivation for every random stream, no two streams of a run or an evaluation
alike, and runs written before it (checkpoint format 1) resuming on their old formulas."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from helpers import metrics_rows, tiny_toy_config, without_timing, write_config
from PIL import Image
from typer.testing import CliRunner

from gan_cli import checkpoint, data, models, seeds
from gan_cli.cli import app
from gan_cli.config import from_dict
from gan_cli.run_dir import RunDir
from gan_cli.sample import load_models
from gan_cli.training.loop import Trainer

runner = CliRunner()


# ---------------------------------------------------------------- derive


def test_derive_is_deterministic_and_fits_a_torch_and_numpy_seed() -> None:
    for stream in seeds.STREAMS:
        a = seeds.derive(12, stream, 3)
        assert a == seeds.derive(12, stream, 3)
        assert 0 <= a < 2**64
        torch.Generator().manual_seed(a)
        np.random.default_rng(a)


def test_derive_does_not_change_between_versions() -> None:
    """Runs of the derive scheme regenerate their toy data and fixed noise from these values on
    resume: a change of the hash (or of a stream's name) would silently change resumed runs."""
    assert seeds.derive(0, "data.train") == 8526939531209026465
    assert seeds.derive(7, "train.rank_step", 1, 20) == 4621082115783533613
    assert seeds.derive(2**32 - 1, "eval.critic.init", 2) == 9750151327033740594


def test_derive_differs_for_other_seeds_streams_and_indexes() -> None:
    values = [seeds.derive(seed, stream) for seed in range(40) for stream in seeds.STREAMS]
    assert len(set(values)) == len(values), "no stream of one seed equals a stream of another seed"
    indexed = [seeds.derive(5, seeds.TRAIN_RANK_STEP, r, s) for r in range(4) for s in range(50)]
    indexed += [seeds.derive(5, seeds.TRAIN_RANK_STEP, 12), seeds.derive(5, seeds.TRAIN_RANK_STEP, 1, 2, 0)]
    assert len(set(indexed)) == len(indexed), "indexes are hashed apart: (1, 2) is neither (12,) nor (1, 2, 0)"
    assert seeds.derive(5, seeds.TRAIN_RANK_STEP) not in indexed
    assert seeds.derive(2**32, seeds.DATA_TRAIN) != seeds.derive(0, seeds.DATA_TRAIN, 1), "large integers are length-prefixed"


def test_only_registered_stream_names_and_plain_indexes_are_accepted() -> None:
    with pytest.raises(ValueError, match="unknown random stream"):
        seeds.derive(0, "my.new.stream")
    for bad in (-1, True, 1.5, "0"):
        with pytest.raises((TypeError, ValueError)):
            seeds.derive(0, seeds.EVAL_CRITIC_INIT, bad)  # type: ignore[arg-type]
    assert len(set(seeds.STREAMS)) == len(seeds.STREAMS)


# ---------------------------------------------------------------- every stream of a run and of `gan eval`


def every_stream(cfg: Any, ranks: int = 4, steps: int = 200) -> list[tuple[Any, ...]]:
    """(stream, *index) of every seed that one training run (on `ranks` processes for `steps`
    generator updates) and one `gan eval` of it draw, for every kind of data."""
    ev = cfg.eval
    runs: list[tuple[Any, ...]] = [
        (seeds.DATA_TRAIN,), (seeds.DATA_VALID,), (seeds.DATA_TEST,), (seeds.DATA_SPLIT,),  # data.split: under data.split_seed
        (seeds.TRAIN_GLOBAL,), (seeds.TRAIN_DATA_ORDER,), (seeds.TRAIN_FIXED_NOISE,), (seeds.TRAIN_SELECTION_NOISE,),
        *((seeds.TRAIN_RANK_STEP, r, s) for r in range(ranks) for s in range(steps)),
    ]  # fmt: skip
    evals: list[tuple[Any, ...]] = [
        (seeds.EVAL_GLOBAL,), (seeds.EVAL_VALUE_NOISE,), (seeds.EVAL_CRITIC_SPLIT,),
        *((seeds.EVAL_CRITIC_NOISE, i) for i in (1, 2, 3)),  # critic.make_splits: train, valid, test
        *((seeds.EVAL_CRITIC_INIT, c) for c in range(ev.critic.seeds)),
        (seeds.EVAL_DENSITY_KERNEL,), (seeds.EVAL_DENSITY_NOISE,), (seeds.EVAL_DENSITY_FIGURE,),
        (seeds.EVAL_W1_DATA,), *((seeds.EVAL_W1_NOISE, r) for r in range(3)),
        (seeds.EVAL_MODES_NOISE,), (seeds.EVAL_PARZEN_NOISE,),
        (seeds.EVAL_MEMORISATION_NOISE,), (seeds.EVAL_MEMORISATION_BOOTSTRAP,),
        (seeds.EVAL_FEATURES_TRAIN,), (seeds.EVAL_FEATURES_NOISE,),
        *((s, side) for s in (seeds.EVAL_FID_BOOTSTRAP, seeds.EVAL_KID_SUBSETS, seeds.EVAL_CLASS_BOOTSTRAP, seeds.EVAL_STACKED_BOOTSTRAP) for side in (0, 1)),
        (seeds.EVAL_INCEPTION_TRAIN,), (seeds.EVAL_INCEPTION_NOISE,),
    ]  # fmt: skip
    return runs + evals


@pytest.mark.parametrize("seed", [0, 1, 2, 202, 2**32 - 1])
def test_every_stream_of_a_run_and_its_evaluation_has_its_own_seed(seed: int) -> None:
    """The run's seed and the evaluation's (both `seed` here, as by default): no two streams alike.
    The old eval derivation, seed * 1009 + 101 * section + i, gave critic 2 and the density
    estimate the same seed, and FID's calibration bootstrap the samples' KID subsets."""
    cfg = from_dict(tiny_toy_config(seed=seed, eval={"seed": seed, "critic": {"seeds": 5}}))
    streams = every_stream(cfg)
    assert {s[0] for s in streams} == set(seeds.STREAMS), "every registered stream is enumerated here"
    values = [
        seeds.derive(cfg.eval.seed, *s) if s[0].startswith("eval.") else seeds.run_seed(cfg.seed, cfg.seed_scheme, *s) for s in streams
    ]
    clashes = [(a, b) for (a, va), (b, vb) in itertools.combinations(zip(streams, values), 2) if va == vb]
    assert not clashes


def test_a_run_and_its_evaluation_draw_only_the_enumerated_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every derivation of a small ring run (model selection on) and its `gan eval`: each is
    one of every_stream's, and the training and evaluation streams are all met."""
    used: list[tuple[Any, ...]] = []
    derive = seeds.derive

    def recording(seed: int, stream: str, *index: int) -> int:
        used.append((stream, *index))
        return derive(seed, stream, *index)

    monkeypatch.setattr(seeds, "derive", recording)
    raw = tiny_toy_config(
        data={"name": "ring", "train_size": 256, "held_out_size": 300},
        noise={"dim": 2, "prior": "normal", "scale": 1.0},
        log={"every": 4, "samples_every": 6, "checkpoint_every": 6, "keep": 1, "picture_samples": 16},
        select={"every_epochs": 1, "kernels": 50, "valid_examples": 50},
        eval={"generated_samples": 200, "critic": {"steps": 20, "seeds": 2, "check_every": 10, "batch_size": 32}, "modes": {"generated_samples": 200}, "density": {"w1_samples": 50}},
    )
    cfg_path = write_config(tmp_path / "ring.yaml", raw)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(cfg_path), "--out", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["eval", "--ckpt", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    known = set(every_stream(from_dict(raw)))
    assert set(used) <= known, f"streams drawn but not enumerated: {set(used) - known}"
    met = {s[0] for s in used}
    expected = {seeds.DATA_TRAIN, seeds.DATA_VALID, seeds.DATA_TEST, seeds.TRAIN_GLOBAL, seeds.TRAIN_DATA_ORDER, seeds.TRAIN_FIXED_NOISE,
                seeds.TRAIN_SELECTION_NOISE, seeds.EVAL_GLOBAL, seeds.EVAL_VALUE_NOISE, seeds.EVAL_CRITIC_SPLIT, seeds.EVAL_CRITIC_NOISE,
                seeds.EVAL_CRITIC_INIT, seeds.EVAL_DENSITY_KERNEL, seeds.EVAL_DENSITY_NOISE, seeds.EVAL_W1_DATA, seeds.EVAL_W1_NOISE,
                seeds.EVAL_MODES_NOISE}  # fmt: skip
    assert expected <= met, f"not drawn: {expected - met}"


# ---------------------------------------------------------------- the legacy scheme of runs written before


def test_the_legacy_scheme_is_the_old_arithmetic() -> None:
    """The formulas gan-cli used before seeds.derive, spelled out independently of seeds.py."""
    for seed in (0, 3, 99_999):
        old = {
            seeds.DATA_TRAIN: seed * 3, seeds.DATA_VALID: seed * 3 + 1, seeds.DATA_TEST: seed * 3 + 2,
            seeds.TRAIN_GLOBAL: seed, seeds.TRAIN_DATA_ORDER: seed + 1_000_003,
            seeds.TRAIN_FIXED_NOISE: seed + 2_000_003, seeds.TRAIN_SELECTION_NOISE: seed + 3_000_003,
        }  # fmt: skip
        for stream, value in old.items():
            assert seeds.run_seed(seed, seeds.LEGACY, stream) == value, stream
            assert seeds.run_seed(seed, seeds.DERIVE, stream) == seeds.derive(seed, stream)
        step = int(np.random.SeedSequence([seed, 1, 7]).generate_state(1, np.uint64)[0])
        assert seeds.run_seed(seed, seeds.LEGACY, seeds.TRAIN_RANK_STEP, 1, 7) == step
        # evaluation streams have no legacy formula
        assert seeds.run_seed(seed, seeds.LEGACY, seeds.EVAL_VALUE_NOISE) == seeds.derive(seed, seeds.EVAL_VALUE_NOISE)


def test_legacy_toy_data_is_the_data_old_runs_trained_on() -> None:
    raw = tiny_toy_config(seed=4, seed_scheme="legacy")
    ds = data.load(from_dict(raw))
    target = data.load(from_dict(raw)).target
    assert target is not None
    for i, split in enumerate(("train", "valid", "test")):
        n = raw["data"]["train_size"] if split == "train" else raw["data"]["held_out_size"]
        assert torch.equal(ds.split(split) if split != "train" else ds.train, target.sample(n, torch.Generator().manual_seed(4 * 3 + i)))
    new = data.load(from_dict(tiny_toy_config(seed=4)))
    assert not torch.equal(new.train, ds.train), "a new run draws its data from derived seeds"


def _as_written_before_seeds(run: Path) -> None:
    """Turn a run trained with seed_scheme: legacy into what gan-cli wrote before seeds.py:
    checkpoints of format 1 and configs without the seed_scheme key."""
    for path in RunDir(run).checkpoints.glob("*.pt"):
        ckpt = torch.load(path, weights_only=True)
        assert ckpt["config"].pop("seed_scheme") == "legacy"
        checkpoint.atomic_save({**ckpt, "format_version": 1}, path)  # a new file: last.pt may be a link to a step's
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved.pop("seed_scheme") == "legacy"
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))


def _train(*args: str) -> None:
    result = runner.invoke(app, ["train", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("with_config", [False, True], ids=["run-dir", "config-file"])
def test_a_run_written_before_seeds_resumes_on_its_own_data_and_noise(tmp_path: Path, with_config: bool) -> None:
    """A pre-seeds run (format 1, no seed_scheme) resumed by this gan-cli continues exactly as the
    old code would have: same toy data, fixed picture noise and selection noise as an uninterrupted
    legacy run, whether resumed from the run directory alone or with a config file."""
    steps = 16  # 8 batches an epoch: the selection checks (steps 8 and 16) fall after the resume at step 4
    raw = tiny_toy_config(select={"every_epochs": 1, "kernels": 40, "valid_examples": 64})
    cfg_path = write_config(tmp_path / "tiny.yaml", {**raw, "train": {**raw["train"], "steps": steps}})
    full, half = tmp_path / "full", tmp_path / "half"
    _train(str(cfg_path), "--out", str(full), "--set", "seed_scheme=legacy")
    _train(str(cfg_path), "--out", str(half), "--set", "seed_scheme=legacy", "--set", "train.steps=4")
    _as_written_before_seeds(half)
    old = checkpoint.load(half)
    assert old["format_version"] == 1 and old["config"]["seed_scheme"] == "legacy", "checkpoint.load reads format 1 as legacy"
    assert load_models(half, torch.device("cpu")).cfg.seed_scheme == "legacy", "gan eval and gan sample see the run's scheme"

    if with_config:  # the config file names no scheme: the run's own still wins
        _train(str(cfg_path), "--resume", "--out", str(half))
    else:
        _train("--resume", str(half), "--set", f"train.steps={steps}")

    resumed, expected = checkpoint.load(half), checkpoint.load(full)
    assert resumed["format_version"] == checkpoint.FORMAT_VERSION and resumed["config"]["seed_scheme"] == "legacy"
    assert yaml.safe_load((half / "config.yaml").read_text())["seed_scheme"] == "legacy"
    for net in ("generator", "discriminator"):
        for name, value in expected[net].items():
            assert torch.equal(resumed[net][name], value), f"{net}.{name}"
    assert without_timing(metrics_rows(half)) == without_timing(metrics_rows(full))
    assert (half / "selection.jsonl").read_text() == (full / "selection.jsonl").read_text(), "selection noise"
    for name in ("step_0000006.png", "step_0000012.png"):  # drawn after the resume, from the fixed noise
        with Image.open(half / "samples" / name) as a, Image.open(full / "samples" / name) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b)), name

    # the fixed noise, the selection noise and the data are the old formulas' (spelled out here)
    cfg = from_dict(resumed["config"])
    tr = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    c = cfg.noise
    old_noise = models.sample_noise(len(tr.fixed_noise), c.dim, c.prior, c.scale, torch.device("cpu"), torch.Generator().manual_seed(cfg.seed + 2_000_003))
    assert torch.equal(tr.fixed_noise, old_noise)
    target = tr.dataset.target
    assert target is not None and torch.equal(tr.dataset.train, target.sample(len(tr.dataset.train), torch.Generator().manual_seed(cfg.seed * 3)))


def test_a_new_run_records_the_derive_scheme(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "tiny.yaml", tiny_toy_config(train={**tiny_toy_config()["train"], "steps": 6}))
    _train(str(cfg_path), "--out", str(tmp_path / "run"))
    ckpt = checkpoint.load(tmp_path / "run")
    assert ckpt["format_version"] == checkpoint.FORMAT_VERSION == 2 and ckpt["config"]["seed_scheme"] == seeds.DERIVE
    assert checkpoint.seed_scheme(RunDir(tmp_path / "run").checkpoints / "last.pt") == seeds.DERIVE
    _train("--resume", str(tmp_path / "run"), "--set", "train.steps=8")
    assert checkpoint.load(tmp_path / "run")["config"]["seed_scheme"] == seeds.DERIVE
