"""Renamed config keys (gan_cli/config/renames.py): every old name still loads, to the same Config as
its new name, from a YAML file, `--set`, a run directory's config.yaml and a checkpoint's stored
config; a note says so on stderr; old and new together is an error naming both."""

from __future__ import annotations

import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from helpers import CONFIGS, gan, toy_config, write_config

from gan_cli import checkpoint
from gan_cli import config as config_mod
from gan_cli.config import RENAMES, Config, from_dict, load, to_dict
from gan_cli.config import renames as renames_mod
from gan_cli.errors import GanError
from gan_cli.sweep import spec as spec_mod

BASE = {"train": {"steps": 1}}


@pytest.fixture(autouse=True)
def fresh_notes() -> None:
    """Each note is printed once per process: forget the ones earlier tests printed."""
    renames_mod._noted.clear()


def _get(raw: dict[str, Any], dotted: str) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node = raw
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def _field(dotted: str) -> dataclasses.Field[Any]:
    cls: Any = Config
    *parents, leaf = dotted.split(".")
    for part in parents:
        cls = typing.get_type_hints(cls)[part]
    return {f.name: f for f in dataclasses.fields(cls)}[leaf]


def _value_for(new: str) -> Any:
    """A valid value of key `new` that is not its default (so the test sees it arrive)."""
    default = _field(new).default
    if default is None:
        return 77
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 7
    if isinstance(default, float):
        return default / 2
    return "mlp"  # eval.critic.architecture, the one string among them


def old_layout(new_raw: dict[str, Any]) -> dict[str, Any]:
    """A new-layout config dict written with the old names (what an old run directory holds)."""
    out = copy.deepcopy(new_raw)
    became_section = [old for old, new in RENAMES.items() if new.startswith(old + ".")]
    for old in [o for o in RENAMES if o not in became_section] + became_section:
        new = RENAMES[old]
        *parents, leaf = new.split(".")
        node = _get(out, ".".join(parents))
        if leaf in node:
            value = node.pop(leaf)
            if old in became_section:
                _get(out, ".".join(old.split(".")[:-1])).pop(old.split(".")[-1])
            _set(out, old, value)
    for section in ("select", "eval.density", "eval.modes", "eval.parzen", "eval.memorisation", "eval.stacked"):
        *parents, leaf = section.split(".")
        parent = _get(out, ".".join(parents)) if parents else out
        assert parent.get(leaf, {}) == {}, f"{section} still holds {parent.get(leaf)}"
        parent.pop(leaf, None)
    return out


# ---------------------------------------------------------------- each old name, each way in


@pytest.mark.parametrize("old", list(RENAMES))
def test_an_old_name_loads_to_the_same_config_as_the_new_one(old: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = RENAMES[old]
    value = _value_for(new)
    want = from_dict(_set(copy.deepcopy(BASE), new, value))
    assert want != from_dict(BASE), "the value differs from the default, so the test sees it arrive"
    assert from_dict(_set(copy.deepcopy(BASE), old, value)) == want, "a dict (a checkpoint's stored config)"
    assert capsys.readouterr().err == "", "a checkpoint's stored config migrates quietly"

    path = write_config(tmp_path / "old.yaml", _set(copy.deepcopy(BASE), old, value))
    assert load(path) == want, "a YAML file"
    assert capsys.readouterr().err.strip() == f"note: {path}: {old} is now {new} (the old name still works)"

    assert load(base=BASE, overrides=[f"{old}={yaml.safe_dump(value).splitlines()[0]}"]) == want, "--set"
    assert capsys.readouterr().err.strip() == f"note: --set {old} is now {new} (the old name still works)"


# eval.critic: mlp and eval.critic.architecture cannot both be written: one YAML key holds one of them
@pytest.mark.parametrize("old", [old for old, new in RENAMES.items() if not new.startswith(old + ".")])
def test_old_and_new_name_together_is_an_error_naming_both(old: str) -> None:
    new = RENAMES[old]
    raw = _set(_set(copy.deepcopy(BASE), old, _value_for(new)), new, _value_for(new))
    with pytest.raises(GanError) as exc:
        from_dict(raw)
    assert old in str(exc.value) and new in str(exc.value) and "keep only" in str(exc.value)


def test_the_whole_old_layout_loads_and_one_line_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new_raw = to_dict(load(CONFIGS / "mnist.yaml"))
    capsys.readouterr()
    old_raw = old_layout(new_raw)
    assert "select" not in old_raw and "num_samples" in old_raw["eval"] and "critic_seeds" in old_raw["eval"]
    assert from_dict(old_raw) == from_dict(new_raw)
    path = write_config(tmp_path / "config.yaml", old_raw)
    assert load(path) == from_dict(new_raw)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and f"{len(RENAMES)} old key names in {path} still work" in lines[0] and "log.select_samples -> select.kernels" in lines[0]
    load(path)
    assert capsys.readouterr().err == "", "once per process"


def test_old_scalars_that_became_sections_work_with_set_and_mix_with_new_keys() -> None:
    cfg = load(base={**BASE, "eval": {"critic": "mlp", "critic_units": 16, "features": False, "inception": True}})
    assert (cfg.eval.critic.architecture, cfg.eval.critic.units, cfg.eval.features.enabled, cfg.eval.features.inception) == ("mlp", 16, False, True)
    cfg = load(base=BASE, overrides=["eval.critic=mlp", "eval.features=false", "eval.critic.units=8"])
    assert (cfg.eval.critic.architecture, cfg.eval.critic.units, cfg.eval.features.enabled) == ("mlp", 8, False)
    # the file in the old layout, --set in the new: no conflict (the file is migrated first)
    cfg = load(base={**BASE, "log": {"select_samples": 5}}, overrides=["select.kernels=9"])
    assert cfg.select.kernels == 9


def test_unknown_keys_near_an_old_name_suggest_the_new_one() -> None:
    with pytest.raises(GanError, match=r"log.select_sample: unknown key; did you mean 'select.kernels'\?"):
        from_dict({**BASE, "log": {"select_sample": 3}})
    with pytest.raises(GanError, match=r"eval.critic_step: unknown key; did you mean 'eval.critic.steps'\?"):
        load(base=BASE, overrides=["eval.critic_step=3"])
    with pytest.raises(GanError, match=r"eval.critic.step: unknown key; did you mean 'eval.critic.steps'\?"):
        from_dict({**BASE, "eval": {"critic": {"step": 3}}})


def test_shipped_configs_use_only_the_new_names(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(CONFIGS.glob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        load(path)
    sweep = spec_mod.load(CONFIGS / "sweeps" / "ring8_k.yaml")
    spec_mod.validate(sweep)
    assert capsys.readouterr().err == ""
    for path in [*paths, CONFIGS / "sweeps" / "ring8_k.yaml"]:
        text = path.read_text()
        assert not any(f"  {old.rsplit('.', 1)[-1]}:" in text for old in RENAMES if "_" in old.rsplit(".", 1)[-1]), path


def test_sweep_eval_settings_nest_and_keep_the_base_configs_other_keys(tmp_path: Path) -> None:
    base = write_config(tmp_path / "base.yaml", {**toy_config(), "eval": {"critic": {"steps": 33}}})
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"base": base.name, "eval": {"critic": {"seeds": 1}, "critic_units": 9}}))
    spec = spec_mod.load(tmp_path / "sweep.yaml")
    cfg = load(None, spec.overrides({}), base=spec.base_raw)
    assert (cfg.eval.critic.seeds, cfg.eval.critic.steps, cfg.eval.critic.units) == (1, 33, 9)


# ---------------------------------------------------------------- an old run directory


def _to_old_run(run: Path) -> None:
    """Rewrite a run directory's config.yaml and every checkpoint's config in the old layout."""
    (run / "config.yaml").write_text(yaml.safe_dump(old_layout(yaml.safe_load((run / "config.yaml").read_text())), sort_keys=False))
    for pt in (run / "checkpoints").glob("*.pt"):
        ckpt = torch.load(pt, weights_only=True)
        ckpt["config"] = old_layout(ckpt["config"])
        checkpoint.atomic_save(ckpt, pt)


def test_an_old_run_resumes_samples_and_its_checkpoint_loads(tmp_path: Path) -> None:
    cfg = toy_config(train={**toy_config()["train"], "steps": 4}, log={**toy_config()["log"], "checkpoint_every": 4})
    path = write_config(tmp_path / "c.yaml", cfg)
    run = tmp_path / "run"
    assert gan("train", path, "--out", run).exit_code == 0
    before = config_mod.from_dict(torch.load(run / "checkpoints" / "last.pt", weights_only=True)["config"])
    _to_old_run(run)
    assert "num_samples" in torch.load(run / "checkpoints" / "last.pt", weights_only=True)["config"]["data"]
    assert config_mod.from_dict(torch.load(run / "checkpoints" / "last.pt", weights_only=True)["config"]) == before

    sampled = gan("sample", "--ckpt", run, "-n", "4", "--out", tmp_path / "s.npy")
    assert sampled.exit_code == 0, sampled.output
    assert "note:" not in sampled.output, "a checkpoint's stored config migrates quietly"

    resumed = gan("train", "--resume", "--out", run, "--set", "train.steps=6")
    assert resumed.exit_code == 0, resumed.output
    notes = [ln for ln in resumed.stderr.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "config.yaml" in notes[0], "an old run directory: one line"
    assert checkpoint.load(run / "checkpoints" / "last.pt")["step"] == 6
    assert "select" in yaml.safe_load((run / "config.yaml").read_text()), "the resumed run's config.yaml has the new names"
