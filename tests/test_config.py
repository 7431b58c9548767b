"""gan_cli/config/. Config loading: strict keys, types and ranges, reported together with their key
paths; broken and hostile configs through `gan train` (hostile inputs), any text, document or
override (fuzz), and the shipped paper configs value for value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
import typing
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from helpers import refused, train_error
from helpers import CONFIGS, gan, tiny_toy_config, toy_config, write_config
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gan_cli import config, models
from gan_cli import config as config_mod
from gan_cli.cli import app
from gan_cli.config import Config, to_dict
from gan_cli.errors import GanError
import os
import shlex
import stat
import subprocess
import sys
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.run_dir import RunDir


def test_tiny_config_builds_frozen_dataclasses() -> None:
    cfg = config.from_dict(tiny_toy_config())
    assert cfg.data.name == "gaussian"
    assert cfg.discriminator.hidden[0].activation == "maxout"
    with pytest.raises(Exception):
        cfg.seed = 3  # type: ignore[misc]


def test_all_problems_are_reported_together_with_paths() -> None:
    raw = tiny_toy_config(train={"batch_size": 0, "k": "three", "steps": 5, "updte": "alternating"})
    raw["data"]["name"] = "gausian"
    with pytest.raises(GanError) as err:
        config.from_dict(raw)
    text = str(err.value)
    assert "train.batch_size: must be > 0" in text
    assert "train.k: expected an integer" in text
    assert "train.updte: unknown key; did you mean 'train.update'?" in text
    assert "data.name: 'gausian' is not one of" in text and "did you mean 'gaussian'" in text


def test_nan_and_negative_sizes_are_rejected() -> None:
    with pytest.raises(GanError, match=r"train.optimizer.lr: must be a finite number"):
        config.from_dict(tiny_toy_config(train={"steps": 2, "optimizer": {"lr": float("nan")}}))
    with pytest.raises(GanError, match=r"noise.dim: must be > 0"):
        config.from_dict(tiny_toy_config(noise={"dim": -3}))


def test_budget_is_required() -> None:
    raw = tiny_toy_config()
    del raw["train"]["steps"]
    with pytest.raises(GanError, match="train.steps or train.epochs"):
        config.from_dict(raw)


def test_set_overrides_parse_yaml_and_suggest_the_closest_key() -> None:
    raw = config.apply_overrides(tiny_toy_config(), ["train.optimizer.lr=0.05", "generator.hidden=[{units: 4}]"])
    cfg = config.from_dict(raw)
    assert cfg.train.optimizer.lr == 0.05
    assert cfg.generator.hidden[0].units == 4
    with pytest.raises(GanError, match=r"did you mean 'train.optimizer.lr'"):
        config.apply_overrides(tiny_toy_config(), ["train.lr=0.05"])


def test_scientific_notation_without_dot_is_a_number() -> None:
    cfg = config.from_dict(tiny_toy_config(train={"steps": 2, "optimizer": {"lr": "1e-3"}}))
    assert cfg.train.optimizer.lr == pytest.approx(1e-3)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ntrain:\n  steps: [1, 2\n")
    with pytest.raises(GanError, match=r"bad.yaml: line \d+, column \d+: malformed YAML"):
        config.load(p)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(GanError, match="top level must be a mapping"):
        config.load(p)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates_and_has_a_header(path: Path) -> None:
    cfg = config.load(path)
    assert cfg.name
    first = path.read_text().splitlines()[0]
    assert first.startswith("# "), "each shipped config starts with a header comment"
    assert "gan train" in path.read_text(), "the header gives the command"


def test_resolved_config_round_trips_through_yaml(tmp_path: Path) -> None:
    cfg = config.load(CONFIGS / "mnist.yaml")
    p = tmp_path / "resolved.yaml"
    p.write_text(config.dump_yaml(cfg))
    assert config.load(p) == cfg


def test_field_docs_cover_every_key() -> None:
    docs = config.field_docs()
    keys = {k for k, _, _ in docs}
    assert {"train.steps", "train.k", "data.mean", "log.every", "seed", "device"} <= keys
    assert all(doc for _, _, doc in docs), "every key has a doc"


def test_the_hint_of_a_malformed_set_is_itself_a_valid_override() -> None:
    with pytest.raises(GanError, match=r"expected KEY=VALUE, e\.g\. " + config.EXAMPLE_OVERRIDE.replace(".", r"\.")) as err:
        config.apply_overrides(tiny_toy_config(), ["train.steps"])
    example = str(err.value).rsplit("e.g. ", 1)[1].strip()
    cfg = config.load(base=tiny_toy_config(), overrides=[example])
    assert cfg.train.optimizer.lr == 0.05


# ---------------------------------------------------------------- hostile inputs: broken configs through `gan train`


# Broken and hostile configs: each is one message naming the problem, exit 1, and no run directory.
#
# Every case runs `gan train` twice, with the default run directory (under ./runs) and with --out,
# and checks that neither directory appears: all checks happen before the run directory is created.


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


# ---------------------------------------------------------------- hostile inputs: contradictions and extremes, refused before anything is created


@pytest.mark.parametrize(
    "twice, line",
    [("train", 3), ("optimizer", 4), ("name", 2), ("lr", 4)],
)
def test_a_key_given_twice_in_yaml_is_refused_with_its_lines(tmp_path: Path, twice: str, line: int) -> None:
    docs = {
        "train": "name: a\ntrain: {batch_size: 8, k: 3, steps: 5}\ntrain: {steps: 5}\n",
        "optimizer": "name: a\ntrain:\n  optimizer: {lr: 0.1}\n  optimizer: {lr: 0.2}\n  steps: 3\n",
        "name": "name: a\nname: b\ntrain: {steps: 3}\n",
        "lr": "name: a\ntrain:\n  optimizer:\n    lr: 0.1\n    lr: 0.2\n  steps: 3\n",
    }
    doc = docs[twice]
    if twice == "optimizer":
        line = 4
    elif twice == "lr":
        line = 5
    message = train_error(tmp_path, doc)
    assert f"line {line}: key '{twice}' appears a second time" in message


def test_an_lr_floor_above_the_lr_is_refused(tmp_path: Path) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "sgd", "lr": 1e-6, "lr_schedule": {"name": "exponential", "min_lr": 0.01}}})
    assert "train.optimizer.lr_schedule.min_lr: the floor 0.01 lies above train.optimizer.lr 1e-06" in train_error(tmp_path, cfg)


def test_a_linear_decay_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"lr_schedule": {"name": "linear", "start_epoch": 5, "end_epoch": 5}}})
    assert "train.optimizer.lr_schedule.end_epoch: 5 must come after start_epoch 5" in train_error(tmp_path, cfg)


def test_a_schedule_keyed_to_the_time_budget_needs_one_and_a_linear_schedule(tmp_path: Path) -> None:
    rise = {"name": "linear", "start_epoch": 1, "end_epoch": 2, "final": 4.0, "start_at_budget": 0.75}
    cfg = toy_config(train={"steps": 4, "optimizer": {"lr_schedule": rise}})
    assert "train.optimizer.lr_schedule.start_at_budget: a fraction of train.max_minutes, which is not set" in train_error(tmp_path, cfg)
    cfg = toy_config(train={"steps": 4, "max_minutes": 5, "optimizer": {"lr_schedule": {"start_at_budget": 0.5}}})
    assert "start_at_budget: only a linear schedule starts by the time budget" in train_error(tmp_path, cfg)
    cfg = toy_config(train={"steps": 4, "max_minutes": 5, "optimizer": {"lr_schedule": {**rise, "start_at_budget": 1.0}}})
    assert "train.optimizer.lr_schedule.start_at_budget" in train_error(tmp_path, cfg)  # a fraction below 1


@pytest.mark.parametrize("betas, index", [([1.0, 0.999], 0), ([0.5, 1.5], 1), ([-0.1, 0.9], 0), ([0.5, 1.0], 1)])
def test_adam_betas_torch_would_refuse_are_named_before_the_run(tmp_path: Path, betas: list[float], index: int) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "adam", "lr": 1e-3, "betas": betas}})
    assert f"train.optimizer.betas[{index}]: must lie in [0, 1)" in train_error(tmp_path, cfg)


@pytest.mark.parametrize("key, text", [("lr", ".inf"), ("lr", ".nan"), ("weight_decay", ".inf"), ("momentum", ".nan")])
def test_non_finite_numbers_are_refused(tmp_path: Path, key: str, text: str) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "sgd", "lr": 0.01}})
    assert f"train.optimizer.{key}: must" in train_error(tmp_path, cfg, "--set", f"train.optimizer.{key}={text}")


@pytest.mark.parametrize("name", ["../escape", "/absolute", "", "..", "a/b", " padded"])
def test_a_run_name_cannot_leave_runs(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path / "c.yaml", toy_config(name=name, train={"steps": 4}))
    message = refused(gan("train", tmp_path / "c.yaml"))
    assert "name: " in message and "plain file name" in message
    assert not (tmp_path / "runs").exists() and not (tmp_path.parent / "escape").exists()


def test_a_config_that_is_a_fifo_or_a_device_is_named_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a FIFO would wait for a writer forever and /dev/zero never ends: refused by kind."""
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "c.yaml")
    assert "c.yaml is not a YAML file: it is a FIFO (named pipe)" in refused(gan("train", tmp_path / "c.yaml"))
    assert "it is a character device" in refused(gan("train", "/dev/zero"))
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- fuzz: any text, document or override loads or fails cleanly


# Property: whatever YAML document and --set overrides the loader is given, it returns a valid
# Config or raises GanError, never anything else (a traceback for the user).


FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


WORKDIR = Path(tempfile.mkdtemp(prefix="gan-config-fuzz-"))


def _field_names(cls: type) -> set[str]:
    names = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        names.add(f.name)
        tp = hints[f.name]
        inner = typing.get_args(tp)[0] if typing.get_origin(tp) is list else tp
        if dataclasses.is_dataclass(inner):
            names |= _field_names(inner)
    return names


PATHS = config.key_paths(Config)


NAMES = sorted(_field_names(Config) | {"hidden", "units", "activation"})


CHOICES = ["gaussian", "ring", "grid", "mixture", "digits", "npz", "relu", "maxout", "sgd", "adam", "cpu", "auto", "cuda:0",
           "rollback", "stop", "simultaneous", "alternating", "minimax", "exponential", "linear", "sigmoid", "marginals"]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(CHOICES),
    st.text(max_size=12),
)


keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=8), st.integers(-2, 2))


values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


def load_or_error(text: str, overrides: list[str]) -> Config | GanError:
    path = WORKDIR / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "replace"))  # lone surrogates become "?"
    try:
        cfg = config.load(path, overrides)
    except GanError as exc:
        assert str(exc).strip(), "an error message says something"
        return exc
    assert isinstance(cfg, Config)
    assert config.from_dict(config.to_dict(cfg)) == cfg, "a valid config survives its own round trip"
    return cfg


@FUZZ
@given(st.text(max_size=200))
@example("train: [1, 2\n")
@example("eval: {seed: 2001-13-99}\n")
@example("? [a, b]\n: 1\n")
@example("a: &x [*x]\n")
@example("data: {train_size: 1" + "0" * 400 + "}\n")
@example("noise: {scale: 1" + "0" * 400 + "}\n")
@example("\x00")
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    load_or_error(text, [])


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_any_yaml_document_loads_or_fails_cleanly(doc: dict[Any, Any]) -> None:
    load_or_error(yaml.safe_dump(doc), [])


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4))
def test_a_good_config_with_random_values_at_real_keys_loads_or_fails_cleanly(changes: list[tuple[str, Any]]) -> None:
    raw = toy_config()
    for path, value in changes:
        node = raw
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    load_or_error(yaml.safe_dump(raw), [])


override_values = st.one_of(st.text(max_size=20), values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()))


overrides = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(PATHS), override_values),
        st.builds(lambda k, v: f"{k}={v}", st.text(max_size=15), override_values),
        st.text(max_size=20),
    ),
    max_size=4,
)


@FUZZ
@given(overrides)
@example(["train.steps=2001-13-99"])
@example(["train=5", "train.k=2"])
@example(["data.means=[[1e400, 0]]"])
@example(["=1", "train.optimizer.lr="])
def test_any_overrides_on_a_good_config_load_or_fail_cleanly(sets: list[str]) -> None:
    result = load_or_error(yaml.safe_dump(toy_config()), sets)
    if isinstance(result, Config):
        assert all(math.isfinite(x) for x in (result.train.optimizer.lr, result.noise.scale))


# ---------------------------------------------------------------- the shipped paper configs


# configs/mnist.yaml is the released code's setup value for value; the Algorithm 1 twin differs only in the update.


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _load(name: str):
    return config_mod.load(CONFIGS / name)


def _flatten(d, prefix=""):
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: d}


def test_mnist_yaml_resolves_to_the_protocol_values() -> None:
    cfg = _load("mnist.yaml")
    assert cfg.data.name == "mnist"
    assert cfg.data.train_range == [0, 50000] and cfg.data.valid_range == [50000, 60000]
    assert (cfg.noise.dim, cfg.noise.prior) == (100, "uniform")
    assert cfg.noise.scale == pytest.approx(math.sqrt(3))
    g = cfg.generator
    assert [(h.units, h.activation, h.dropout) for h in g.hidden] == [(1200, "relu", 0.0), (1200, "relu", 0.0)]
    assert (g.output_activation, g.init, g.init_scale, g.output_bias) == ("sigmoid", "uniform", 0.05, "marginals")
    d = cfg.discriminator
    # dropout is the probability of dropping: keep 0.8 of the pixels, 0.5 of the hidden units
    assert [(h.units, h.activation, h.pieces, h.dropout) for h in d.hidden] == [(240, "maxout", 5, 0.2), (240, "maxout", 5, 0.5)]
    assert (d.output_dropout, d.init, d.init_scale) == (0.5, "uniform", 0.005)
    t = cfg.train
    assert (t.update, t.k, t.generator_loss, t.d_loss_scale, t.batch_size) == ("simultaneous", 1, "non_saturating", 0.5, 100)
    o = t.optimizer
    assert (o.name, o.sgd_form, o.lr) == ("sgd", "paper", 0.1)
    assert (o.lr_schedule.name, o.lr_schedule.decay, o.lr_schedule.min_lr) == ("exponential", 1.000004, 1e-6)
    m = o.momentum_schedule
    assert (m.name, m.start, m.final, m.saturate_epoch) == ("linear", 0.5, 0.7, 250)
    assert o.weight_decay == 0.0
    assert cfg.select.every_epochs == 1  # model selection on the validation Parzen signal is on
    assert cfg.eval.generated_samples == 10_000


def shipped_config_diff(a_name: str, b_name: str) -> dict[str, tuple[Any, Any]]:
    """Every dotted key whose value differs between two shipped configs: {key: (a's, b's)}."""
    a = _flatten(to_dict(_load(a_name)))
    b = _flatten(to_dict(_load(b_name)))
    return {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_algorithm1_config_differs_only_in_the_update_scheme() -> None:
    assert shipped_config_diff("mnist.yaml", "mnist_algorithm1.yaml") == {"name": ("mnist", "mnist_algorithm1"), "train.update": ("simultaneous", "alternating")}
    assert _load("mnist_algorithm1.yaml").train.k == 1


def test_mnist_nets_have_the_papers_shapes_and_init_ranges() -> None:
    cfg = _load("mnist.yaml")
    torch.manual_seed(0)
    g, d = models.build(cfg, 784)
    assert models.count_parameters(g) == 100 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 784 + 784
    assert models.count_parameters(d) == 784 * 1200 + 1200 + 240 * 1200 + 1200 + 240 + 1
    # every layer of G, the sigmoid output layer included, is U(-0.05, 0.05); D is U(-0.005, 0.005)
    for lin in [m for m in g.modules() if isinstance(m, torch.nn.Linear)]:
        assert 0.04 < lin.weight.abs().max().item() <= 0.05
    for lin in [m for m in d.modules() if isinstance(m, torch.nn.Linear)]:
        assert 0.004 < lin.weight.abs().max().item() <= 0.005
        assert lin.bias.abs().max().item() == 0.0
    drops = [m.p for m in d.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]


def test_selection_is_off_by_default() -> None:
    cfg = config_mod.from_dict({"train": {"steps": 1}})
    assert cfg.select.every_epochs == 0


def test_averaged_recipe_is_the_released_training_with_G_averaged() -> None:
    diff = set(shipped_config_diff("mnist.yaml", "mnist_averaged.yaml"))
    assert not any(k.startswith(("data.", "noise.", "generator.", "discriminator.")) for k in diff)
    assert diff == {
        "name", "train.epochs", "train.ema.decay", "train.ema.rampup", "log.checkpoint_every", "log.keep",
        "select.kernels",
    }
    averaged = _load("mnist_averaged.yaml")
    assert (averaged.train.ema.decay, averaged.train.ema.rampup) == (0.9995, None)


def test_the_tuned_algorithm1_recipe_changes_only_the_optimizer_and_averages_G() -> None:
    """configs/mnist_algorithm1_adam.yaml: Algorithm 1 as the paper states it (alternating, k = 1, the
    paper's nets, data and noise), with Adam and G averaged; nothing else differs."""
    diff = set(shipped_config_diff("mnist_algorithm1.yaml", "mnist_algorithm1_adam.yaml"))
    assert not any(k.startswith(("data.", "noise.", "generator.", "discriminator.")) for k in diff)
    assert {k for k in diff if not k.startswith(("train.optimizer.", "log.", "select."))} == {"name", "train.epochs", "train.ema.decay", "train.ema.rampup"}
    tuned = _load("mnist_algorithm1_adam.yaml")
    assert (tuned.train.update, tuned.train.k, tuned.train.optimizer.name) == ("alternating", 1, "adam")
    assert (tuned.train.ema.decay, tuned.train.ema.rampup) == (0.9999, 0.2)


def test_fast_recipe_is_the_tuned_algorithm1_recipe_in_bf16() -> None:
    """configs/mnist_fast.yaml: configs/mnist_algorithm1_adam.yaml with bf16 forward passes and a
    2-hour time budget, nothing else."""
    assert shipped_config_diff("mnist_algorithm1_adam.yaml", "mnist_fast.yaml") == {
        "name": ("mnist_algorithm1_adam", "mnist_fast"),
        "train.precision": ("float32", "bf16"),
        "train.max_minutes": (None, 120.0),
    }


def test_hour_recipe_is_the_fast_recipe_with_a_slower_D_and_one_hour() -> None:
    """configs/mnist_hour.yaml: configs/mnist_fast.yaml with D's learning rate half G's and a 1-hour
    time budget, nothing else: the paper's G and D, data, noise and Algorithm 1 stay."""
    assert shipped_config_diff("mnist_fast.yaml", "mnist_hour.yaml") == {
        "name": ("mnist_fast", "mnist_hour"),
        "train.optimizer.d_lr_scale": (1.0, 0.5),
        "train.max_minutes": (120.0, 60.0),
    }


def test_hour_rise_recipe_is_the_hour_recipe_with_the_lr_quadrupled_from_epoch_230() -> None:
    """configs/mnist_hour_rise.yaml: configs/mnist_hour.yaml with G's and D's learning rates x4
    from epoch 230 (ramped over one epoch), nothing else: before epoch 230 the two train the same,
    which is what lets the one-hour runs' seeds, resumed there with the rise, count as its seeds."""
    assert shipped_config_diff("mnist_hour.yaml", "mnist_hour_rise.yaml") == {
        "name": ("mnist_hour", "mnist_hour_rise"),
        "train.optimizer.lr_schedule.name": ("constant", "linear"),
        "train.optimizer.lr_schedule.start_epoch": (1, 230),
        "train.optimizer.lr_schedule.end_epoch": (100, 231),
        "train.optimizer.lr_schedule.final": (0.0, 4.0),
    }



def test_early_rise_recipe_is_the_rise_recipe_started_at_epoch_200() -> None:
    """configs/mnist_hour_rise_early.yaml: the rise recipe with its x4 from epoch 200, nothing else
    (chosen on validation images over four seed pairs, docs/results/lr_rise_start.json): before
    epoch 200 the two train the same, so a rise run's step-100,000 checkpoint resumed with the
    earlier rise is a run of this recipe."""
    assert shipped_config_diff("mnist_hour_rise.yaml", "mnist_hour_rise_early.yaml") == {
        "name": ("mnist_hour_rise", "mnist_hour_rise_early"),
        "train.optimizer.lr_schedule.start_epoch": (230, 200),
        "train.optimizer.lr_schedule.end_epoch": (231, 201),
    }


def test_budget_rise_recipe_is_the_early_rise_recipe_keyed_to_the_time_budget() -> None:
    """configs/mnist_hour_rise_budget.yaml: the early rise recipe with its x4 started at 75 % of the
    hour's training time in place of epoch 200 (75 % of the epochs a 2-core EPYC trains in the
    hour), nothing else."""
    assert shipped_config_diff("mnist_hour_rise_early.yaml", "mnist_hour_rise_budget.yaml") == {
        "name": ("mnist_hour_rise_early", "mnist_hour_rise_budget"),
        "train.optimizer.lr_schedule.start_at_budget": (None, 0.75),
    }


# ---- hostile inputs: values that expand, values too long to print


BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def test_a_yaml_alias_bomb_in_a_config_is_one_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "name: x\n")
    message = one_clean_error(gan("train", path, "--dry-run"))
    assert f"holds more than {MAX_EXPANDED_NODES:,} values once its YAML aliases (*name) are expanded" in message


def test_a_config_file_of_megabytes_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    # 35 MB of plain list items took PyYAML two minutes, and then the message spoke of aliases
    from gan_cli.config.yaml_io import MAX_YAML_BYTES

    path = tmp_path / "big.yaml"
    path.write_text("name: x\nnotes:\n" + "  - 1234567\n" * (MAX_YAML_BYTES // 12 + 1))
    message = one_clean_error(gan("train", path, "--dry-run"))
    assert message == f"error: {path} is 1.0 MB; a config or sweep file is at most 1 MB (data belongs in a file that data.path names)\n"
    path.write_text("name: x\nnotes:\n" + "  - 1\n" * (MAX_EXPANDED_NODES + 1))  # under 1 MB, past the count
    assert f"holds more than {MAX_EXPANDED_NODES:,} values" in one_clean_error(gan("train", path, "--dry-run"))


def test_a_yaml_alias_bomb_in_a_set_value_is_one_line_at_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    bomb = "{" + BOMB.replace("\n", ", ").rstrip(", ") + "}"
    result = gan("train", cfg, "--dry-run", "--set", f"generator.hidden={bomb}")
    assert result.exit_code == 1 and "values once its YAML aliases" in result.output and len(result.output) < 2_000


def test_a_long_value_in_a_message_is_cut(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    result = gan("train", cfg, "--dry-run", "--set", "seed=" + "x" * 100_000)
    assert result.exit_code == 1 and len(result.output) < 1_000


def test_a_directory_given_as_the_config_says_so(tmp_path: Path) -> None:
    message = one_clean_error(gan("train", tmp_path))
    assert "is a directory" in message
    spaced = tmp_path / "my run"
    spaced.mkdir()
    assert one_clean_error(gan("train", spaced)).rstrip().endswith(f"(to continue a run: gan train --resume '{spaced}')")


def test_shown_bounds_any_value() -> None:
    from gan_cli.errors import shown

    assert len(shown("x" * 10_000)) <= 80 and len(shown([list(range(1000))] * 1000)) <= 80
    with pytest.raises(GanError):
        raise GanError(shown(object()))


@pytest.mark.parametrize(
    "value, read_as, why",
    [("no", "False", "as a boolean"), ("off", "False", "as a boolean"), ("2026-12-08", "datetime.date(2026, 12, 8)", "date or time")],
)
def test_text_that_yaml_reads_as_a_boolean_or_a_date_says_to_quote_it(tmp_path: Path, value: str, read_as: str, why: str) -> None:
    """`name: no` said only 'expected a string, got False': the user wrote no."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    result = gan("train", cfg, "--dry-run", "--set", f"name={value}")
    message = result.output
    assert result.exit_code == 1 and "Traceback" not in message
    assert f"name: expected a string, got {read_as} (YAML reads an unquoted" in message and why in message
    assert "put the text in quotes" in message
    quoted = gan("train", cfg, "--dry-run", "--set", f'name="{value}"')
    assert quoted.exit_code == 0, quoted.output


@pytest.mark.parametrize(
    "item, shown",
    [
        ("generator.hidden[0].units=16", "generator.hidden is one value (a list): set it whole, e.g. --set 'generator.hidden=[{activation: relu, units: 8}]'"),
        ("generator.hidden.0.units=16", "generator.hidden is one value (a list): set it whole"),
        ("train.optimizer.betas.0=0.9", "train.optimizer.betas is one value (a list): set it whole, e.g. --set 'train.optimizer.betas=[0.5, 0.999]'"),
        ("train.optimizer.lr.x=3", "train.optimizer.lr is one value: set it whole, e.g. --set train.optimizer.lr=0.001"),
    ],
)
def test_a_set_into_one_value_says_to_set_it_whole(tmp_path: Path, item: str, shown: str) -> None:
    """`--set generator.hidden[0].units=16` was an unknown key with the hint 'did you mean
    eval.critic.units?'. The example given is the config's own value (or the default), which works
    as given."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    result = gan("train", cfg, "--dry-run", "--set", item)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"--set {item.split('=')[0]}: {shown}" in result.output
    example = shlex.split(result.output.split("e.g. --set ")[1].splitlines()[0])[0]  # as a shell reads it
    assert gan("train", cfg, "--dry-run", "--set", example).exit_code == 0


def test_an_invalid_config_names_its_file(tmp_path: Path) -> None:
    """On --resume the config read is RUN/config.yaml, which the command line does not show."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    result = gan("train", cfg, "--dry-run", "--set", "train.batch_size=0")
    assert result.exit_code == 1 and f"error: invalid config {cfg} with its --set overrides:\n" in result.output
    run = tmp_path / "run"
    assert gan("train", cfg, "--out", run).exit_code == 0
    (run / "config.yaml").write_text("name: tiny\n", encoding="utf-8")  # edited by hand: no budget
    result = gan("train", "--resume", run)
    assert result.exit_code == 1 and f"error: invalid config {run / 'config.yaml'}:\n" in result.output
