"""Config loading: strict keys, types and ranges, reported together with their key paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CONFIGS, tiny_toy_config

from gan_cli import config
from gan_cli.errors import GanError


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
