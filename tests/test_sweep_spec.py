"""gan_cli/sweep/spec.py: the sweep file, its trials, every grid point checked as a config, and the
one-line errors (a bad grid value) that leave no directory behind. No Ray is started here."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import write_sweep
from typer.testing import CliRunner

from gan_cli.cli import app
from gan_cli.errors import GanError
from gan_cli.sweep import spec as spec_mod
import os
import stat
import subprocess
import sys
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.run_dir import RunDir

runner = CliRunner()


def test_trials_are_the_grid_product_times_the_seeds(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, seeds=[3, 7], grid={"train.k": [1, 3], "train.generator_loss": ["minimax", "non_saturating"]}, set={"train.steps": 5})
    spec = spec_mod.load(path)
    trials = spec.trials()
    assert [t.trial_id for t in trials[:3]] == ["k=1,generator_loss=minimax,seed=3", "k=1,generator_loss=minimax,seed=7", "k=1,generator_loss=non_saturating,seed=3"]
    assert len(trials) == 8 and len({t.trial_id for t in trials}) == 8
    assert trials[-1].grid == {"train.k": 3, "train.generator_loss": "non_saturating"} and trials[-1].seed == 7
    # the overrides are --set strings: fixed ones, eval settings, then the grid values
    overrides = spec.overrides(trials[-1].grid)
    assert overrides[0] == "train.steps=5" and overrides[-2:] == ["train.k=3", 'train.generator_loss="non_saturating"']
    spec_mod.validate(spec)
    assert spec_mod.load(write_sweep(tmp_path / "count", seeds=3)).seeds == [0, 1, 2]


def test_keys_that_share_a_last_part_keep_their_full_path_in_trial_ids(tmp_path: Path) -> None:
    spec = spec_mod.load(write_sweep(tmp_path, seeds=1, grid={"generator.init": ["uniform"], "discriminator.init": ["normal"]}))
    assert spec.trials()[0].trial_id == "generator.init=uniform,discriminator.init=normal,seed=0"


def test_a_bad_grid_value_is_one_error_before_anything_starts(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"train.k": [1, 0], "train.generator_loss": ["minimax", "minmax"]})
    out = tmp_path / "sweep_out"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("error: invalid sweep")
    assert "train.k: must be > 0, got 0 (grid point train.k=0, train.generator_loss=\"minimax\")" in result.output
    assert "train.generator_loss: 'minmax' is not one of non_saturating, minimax (did you mean 'minimax'?)" in result.output
    assert result.output.count("train.k: must be > 0") == 1, "one line per distinct problem"
    assert not out.exists(), "nothing was started"


def test_an_unknown_grid_key_names_the_closest_key(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"train.lrr": [0.1]})
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "train.lrr: unknown key; did you mean 'train.optimizer.lr'?" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": 0}, "seeds: a count must be between 1 and 10,000, got 0"),
        ({"grid": {"train.k": []}}, "grid.train.k: expected a non-empty list of values"),
        ({"grid": {"seed": [1, 2]}}, "grid.seed: use seeds:"),
        ({"set": {"device": "cuda"}}, "set.device: resources.gpus chooses the device"),
        ({"resources": {"cpus": 0}}, "resources.cpus: CPUs per trial must be a number > 0"),
        ({"base": "missing.yaml"}, "base: config file not found"),
        ({"metirc": "w1"}, "metirc: unknown key"),
    ],
)
def test_a_bad_sweep_file_names_the_key(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(GanError, match="invalid sweep file") as info:
        spec_mod.load(write_sweep(tmp_path, **change))
    assert message in str(info.value)


def test_command_line_overrides_join_the_sweeps_set_and_its_digest(tmp_path: Path) -> None:
    spec = spec_mod.load(write_sweep(tmp_path, seeds=2, grid={"train.k": [1, 3]}, set={"train.steps": 5}))
    given = spec_mod.with_overrides(spec, ["data.std=0.25", "train.steps=7", "eval.critic.seeds=1"])
    assert given.fixed == {"train.steps": 7, "data.std": 0.25, "eval.critic.seeds": 1}, "--set wins over set:"
    assert given.overrides({"train.k": 3})[:3] == ["train.steps=7", "data.std=0.25", "eval.critic.seeds=1"]
    assert given.digest() != spec.digest() and given.to_yaml_data("base.yaml")["set"] == given.fixed
    spec_mod.validate(given)
    assert spec_mod.with_overrides(spec, []) is spec


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.k=2", "grid.train.k: also under --set; give it in one place"),
        ("seed=3", "--set seed: use seeds:, not --set"),
        ("train.lrr=0.1", "--set train.lrr: unknown key; did you mean 'train.optimizer.lr'?"),
    ],
)
def test_a_bad_command_line_override_is_one_error_before_anything_starts(tmp_path: Path, override: str, message: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path, grid={"train.k": [1, 3]})), "--set", override, "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in result.output, result.output
    assert not out.exists()


def test_a_resumed_sweep_keeps_its_own_overrides(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", "--resume", str(tmp_path), "--set", "data.std=0.3"])
    assert result.exit_code == 1 and "--set: a sweep directory keeps the overrides it started with" in result.output


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "configs" / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_sweep_file_loads_and_its_grid_validates(path: Path) -> None:
    spec = spec_mod.load(path)
    spec_mod.validate(spec)
    assert path.read_text().startswith("#"), "a header comment: what it measures, the command"
    assert len(spec.trials()) == len(spec.points()) * len(spec.seeds)


def test_the_quick_sweep_stays_small() -> None:
    """configs/sweeps/gaussian1d_quick.yaml is the first sweep to try (docs/sweep.md): a minute, not ten."""
    spec = spec_mod.load(Path(__file__).resolve().parents[1] / "configs" / "sweeps" / "gaussian1d_quick.yaml")
    assert len(spec.trials()) <= 4 and spec.cpus == 1 and spec.gpus == 0
    assert spec.fixed["train.steps"] <= 500 and spec.fixed["data.train_size"] <= 10_000
    assert spec.eval["critic"]["seeds"] == 1 and spec.eval["critic"]["steps"] <= 500
    assert spec.eval["generated_samples"] <= 2_000 and spec.eval["density"]["z_grid"] <= 100_000


# ---- hostile inputs: counted first, then bounded


BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def _sweep_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"base: {REPO / 'configs' / 'ring8.yaml'}\n{extra}")
    return path


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("seeds: 1000000000\n", "a count must be between 1 and 10,000"),
        ("seeds: [4294967296]\n", "above the largest seed"),
        ("grid: {train.k: [" + ", ".join(map(str, range(1, 1001))) + "], train.batch_size: [" + ", ".join(map(str, range(1, 1001))) + "]}\n", "1,000,000 trials"),
    ],
    ids=["huge-count", "seed-above-2^32", "huge-grid"],
)
def test_a_sweep_spec_is_counted_and_bounded_before_anything_starts(tmp_path: Path, extra: str, expected: str) -> None:
    import time

    start = time.monotonic()
    result = gan("sweep", _sweep_file(tmp_path, extra))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert expected in result.stderr and time.monotonic() - start < 30


def test_a_trial_id_fits_a_file_name() -> None:
    from gan_cli.sweep import spec as spec_mod

    spec = spec_mod.SweepSpec(Path("s.yaml"), "s", {}, [0], {"data.path": ["x" * 600, "y" * 600]}, {}, {}, 1, 0, "value", None)
    ids = [t.trial_id for t in spec.trials()]
    assert len(set(ids)) == 2 and all(len(i.encode()) <= spec_mod.NAME_MAX for i in ids)


def test_a_yaml_alias_bomb_in_a_sweep_file_is_one_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(BOMB + f"base: {REPO / 'configs' / 'ring8.yaml'}\nseeds: 2\n")
    message = one_clean_error(gan("sweep", path))
    assert "values once its YAML aliases" in message
