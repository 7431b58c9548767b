"""Broken and hostile configs: each is one message naming the problem, exit 1, and no run directory.

Every case runs `gan train` twice, with the default run directory (under ./runs) and with --out,
and checks that neither directory appears: all checks happen before the run directory is created.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import toy_config
from typer.testing import CliRunner

from gan_cli import run_dir
from gan_cli import checkpoint
from gan_cli.cli import app

runner = CliRunner()
GOOD = yaml.safe_dump(toy_config(), sort_keys=False)


def with_(path: str, value: Any) -> str:
    """The good config with one dotted key set to `value` (lists index as [0])."""
    raw = toy_config()
    node: Any = raw
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[parts[-1]] = value
    return yaml.safe_dump(raw, sort_keys=False)


# (id, YAML text, --set overrides, phrase the one message must contain)
CASES: list[tuple[str, str, list[str], str]] = [
    ("malformed-yaml", GOOD.replace("train:\n", "train:\n  k: [1, 2\n", 1), [], "line "),
    ("tab-indented-yaml", "train:\n\tsteps: 3\n", [], "malformed YAML"),
    ("top-level-list", "- data\n- train\n", [], "the top level must be a mapping of sections"),
    ("top-level-scalar", "42\n", [], "the top level must be a mapping of sections"),
    ("unknown-top-level-key", GOOD + "trian: {k: 2}\n", [], "trian: unknown key; did you mean 'train'?"),
    ("unknown-nested-key", with_("train.batchsize", 10), [], "train.batchsize: unknown key; did you mean 'train.batch_size'?"),
    ("wrong-type-int", with_("train.batch_size", "many"), [], "train.batch_size: expected an integer, got 'many'"),
    ("wrong-type-section", with_("train", [1, 2]), [], "train: expected a mapping"),
    ("wrong-type-bool", with_("data.download", "maybe"), [], "data.download: expected true/false"),
    ("nan-size", with_("data.train_size", float("nan")), [], "data.train_size: expected an integer, got nan"),
    ("nan-float", with_("data.std", float("nan")), [], "data.std: must be a finite number"),
    ("inf-lr", with_("train.optimizer.lr", float("inf")), [], "train.optimizer.lr: must be a finite number"),
    ("negative-size", with_("noise.dim", -3), [], "noise.dim: must be > 0, got -3"),
    ("negative-units", with_("generator.hidden", [{"units": -8}]), [], "generator.hidden[0].units: must be > 0, got -8"),
    ("zero-batch-size", with_("train.batch_size", 0), [], "train.batch_size: must be > 0, got 0"),
    ("batch-larger-than-dataset", with_("train.batch_size", 300), [], "train.batch_size: 300 is larger than the 256 training examples"),
    ("missing-data-root", with_("data", {"name": "mnist", "root": "/nonexistent/mnist"}), [], "mnist files not found under data.root=/nonexistent/mnist"),
    ("missing-npz", with_("data", {"name": "npz", "path": "/nonexistent/x.npz"}), [], "data.path: npz file not found: /nonexistent/x.npz"),
    ("unknown-activation", with_("generator.hidden", [{"units": 8, "activation": "swish"}]), [], "generator.hidden[0].activation: 'swish' is not one of"),
    ("unknown-optimizer", with_("train.optimizer.name", "rmsprop"), [], "train.optimizer.name: 'rmsprop' is not one of sgd, adam"),
    ("unknown-device", with_("device", "tpu"), [], "device: 'tpu' is not one of auto, cpu, cuda, cuda:N, mps"),
    ("absent-device", GOOD, ["device=cuda:7"], "device: cuda:7 was requested but"),
    ("unknown-nan-policy", with_("train.nan_policy", "ignore"), [], "train.nan_policy: 'ignore' is not one of stop, rollback"),
    ("nan-lr-scale-out-of-range", with_("train.nan_lr_scale", 2.0), [], "train.nan_lr_scale: must be <= 1.0, got 2.0"),
    ("set-unknown-key", GOOD, ["train.lrr=0.1"], "--set train.lrr: unknown key; did you mean 'train.optimizer.lr'?"),
    ("set-unknown-section", GOOD, ["model.depth=3"], "--set model.depth: unknown key"),
    ("set-without-equals", GOOD, ["train.steps"], "--set 'train.steps': expected KEY=VALUE"),
    ("set-wrong-type", GOOD, ["train.k=two"], "train.k: expected an integer, got 'two'"),
    ("yaml-timestamp-value", with_("train.steps", dt.date(2001, 1, 1)), [], "train.steps: expected an integer"),
    ("set-impossible-date", GOOD, ["train.steps=2001-13-99"], "train.steps: expected an integer, got '2001-13-99'"),
    ("yaml-impossible-date", GOOD + "eval: {seed: 2001-13-99}\n", [], "malformed YAML: a value cannot be read (month must be in 1..12)"),
    ("no-budget", with_("train", {"batch_size": 32}), [], "train: set a budget, train.steps or train.epochs"),
    ("empty-file", "", [], "train: set a budget"),
    ("binary-garbage", "\x00\x01\x02 train: [", [], "malformed YAML"),
]


@pytest.mark.parametrize("text, overrides, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_config_is_one_message_exit_1_and_no_run_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, overrides: list[str], phrase: str) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text, encoding="utf-8")
    sets = [a for o in overrides for a in ("--set", o)]
    for out in ([], ["--out", str(tmp_path / "out")]):
        result = runner.invoke(app, ["train", str(cfg), *sets, *out])
        assert result.exit_code == 1, result.output
        assert result.stdout == "", "nothing but the error is printed"
        assert result.stderr.startswith("error: ") and result.stderr.count("error: ") == 1, result.stderr
        assert phrase in result.stderr, result.stderr
        assert "Traceback" not in result.output
        assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists(), "a run directory was created"


def test_malformed_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: x\ntrain:\n  steps: 3\n  k: [1, 2\nlog: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["train", str(cfg)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {cfg}: line 5, column 4: malformed YAML"), result.stderr


def test_all_problems_of_a_config_are_reported_together(tmp_path: Path) -> None:
    raw = toy_config(train={"batch_size": 0, "steps": -1, "k": "x"}, noise={"dim": 0})
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = runner.invoke(app, ["train", str(cfg), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    for key in ("train.batch_size", "train.steps", "train.k", "noise.dim"):
        assert f"  - {key}:" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_missing_or_unreadable_config_file_is_one_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "config file not found" in result.stderr
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = runner.invoke(app, ["train", str(latin)])
    assert result.exit_code == 1 and "cannot read config file" in result.stderr and "Traceback" not in result.output


def test_two_runs_started_in_the_same_second_get_different_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = dt.datetime(2026, 1, 2, 3, 4, 5)

    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> dt.datetime:  # type: ignore[override]
            return frozen

    monkeypatch.setattr(run_dir._dt, "datetime", FrozenClock)
    first = run_dir.default("exp", tmp_path / "runs").path
    second = run_dir.default("exp", tmp_path / "runs").path
    assert first.name == "exp-20260102-030405" and second.name == "exp-20260102-030405-2"
    assert first.is_dir() and second.is_dir(), "each run holds its directory from the moment it is named"

    # and through the command: two runs of one config in the same second
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(toy_config(name="twin", train={**toy_config()["train"], "steps": 2})), encoding="utf-8")
    for _ in range(2):
        assert runner.invoke(app, ["train", str(cfg)]).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith("twin"))
    assert runs == ["twin-20260102-030405", "twin-20260102-030405-2"]
    assert all((tmp_path / "runs" / r / "checkpoints" / "last.pt").is_file() for r in runs)
