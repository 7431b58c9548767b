"""Property: whatever YAML document and --set overrides the loader is given, it returns a valid
Config or raises GanError, never anything else (a traceback for the user)."""

from __future__ import annotations

import dataclasses
import math
import tempfile
import typing
from pathlib import Path
from typing import Any

import yaml
from helpers import toy_config
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gan_cli import config
from gan_cli.config import Config
from gan_cli.errors import GanError

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
