"""`--set KEY=VALUE` overrides applied to a raw config, with did-you-mean hints for unknown keys.
An old key name (`renames.RENAMES`) sets its new key, with a note on stderr."""

from __future__ import annotations

import copy
import difflib
import functools
import shlex
from typing import Any

import yaml

from gan_cli.config.keys import field_docs, key_paths
from gan_cli.config.renames import RENAMES, is_old, note
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES, TooLarge, parse_value
from gan_cli.errors import GanError

# An override that validates, for the hint of a malformed --set (a test checks that it does).
EXAMPLE_OVERRIDE = "train.optimizer.lr=0.05"


def _closest_path(key: str, valid: list[str]) -> list[str]:
    """The valid dotted path most like `key`: same last part first (train.lr -> train.optimizer.lr);
    a near miss of an old name gives its new one (eval.critic_step -> eval.critic.steps)."""
    old = difflib.get_close_matches(key, list(RENAMES), n=1, cutoff=0.9)
    if old:
        return [RENAMES[old[0]]]
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [v for v in valid if v.rsplit(".", 1)[-1] == leaf]
    if same_leaf:
        return difflib.get_close_matches(key, same_leaf, n=1, cutoff=0.0)
    near_leaf = [v for v in valid if difflib.get_close_matches(leaf, [v.rsplit(".", 1)[-1]], n=1, cutoff=0.6)]
    if near_leaf:  # a misspelt last part: train.lrr -> train.optimizer.lr
        return difflib.get_close_matches(key, near_leaf, n=1, cutoff=0.0)
    return difflib.get_close_matches(key, valid, n=1, cutoff=0.5)


@functools.cache
def _leaf_defaults() -> dict[str, Any]:
    """Every leaf key of the config with its default (read once, where a --set needs it)."""
    return {k: default for k, default, _ in field_docs()}


def _leaf_above(key: str, leaves: dict[str, Any]) -> str | None:
    """The key of `leaves` (one value: a number, a list, ...) that `key` reaches inside:
    generator.hidden for generator.hidden[0].units or generator.hidden.0.units; None for any other."""
    for end in range(len(key) - 1, 0, -1):
        if key[end] in ".[" and key[:end] in leaves:
            return key[:end]
    return None


def _lookup(raw: dict[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _flow(value: Any) -> str:
    """`value` as one line of YAML flow style, what --set parses."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `KEY=VALUE` overrides (dotted path, value parsed as YAML) to a raw config dict."""
    out = copy.deepcopy(raw)
    valid = key_paths()
    errors: list[str] = []
    moved: list[tuple[str, str]] = []
    for item in overrides:
        if "=" not in item:
            errors.append(f"--set {item!r}: expected KEY=VALUE, e.g. {EXAMPLE_OVERRIDE}")
            continue
        key, text = item.split("=", 1)
        key = key.strip()
        if (
            key in RENAMES and key not in valid
        ):  # a scalar's old name that is now a section is checked below, with its value
            moved.append((key, RENAMES[key]))
            key = RENAMES[key]
        whole = None if key in valid else _leaf_above(key, _leaf_defaults())
        if whole is not None:  # generator.hidden[0].units: a --set sets a value, never part of one
            current = _lookup(raw, whole)
            if current is None:
                current = _leaf_defaults()[whole]
            kind = " (a list)" if isinstance(current, list) else " (a mapping)" if isinstance(current, dict) else ""
            errors.append(
                f"--set {key}: {whole} is one value{kind}: set it whole, e.g. --set {shlex.quote(f'{whole}={_flow(current)}')}"
            )
            continue
        if key not in valid:
            close = _closest_path(key, valid)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errors.append(f"--set {key}: unknown key{hint}")
            continue
        try:
            value = parse_value(text) if text.strip() else None
        except TooLarge:
            errors.append(
                f"--set {key}: holds more than {MAX_EXPANDED_NODES:,} values once its YAML aliases (*name) are expanded"
            )
            continue
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
            value = text  # not YAML (e.g. the date 2001-13-99): keep the text; validation names the key
        if is_old(key, value):  # eval.critic=mlp: the old scalar, now eval.critic.architecture
            moved.append((key, RENAMES[key]))
            key = RENAMES[key]
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    if errors:
        raise GanError("invalid --set override:", errors)
    note(moved, "--set ")
    return out
