"""Renamed config keys: one table (old dotted key -> new), and the step that moves an old key's value
to its new place before validation.

Old names keep working wherever a config is read: YAML files, `--set`, a run directory's
config.yaml and a checkpoint's stored config dict. Where a person wrote the old name (a file, a
`--set`), one note per old key goes to stderr, once per process; a source with many old names (a
run directory's resolved config.yaml) gets one line. A checkpoint's stored config is migrated
quietly: its reader cannot change it. An old and a new name for the same key in one config is an
error naming both.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from gan_cli.errors import GanError

RENAMES: dict[str, str] = {
    # three different `num_samples`, each named by what it counts
    "data.num_samples": "data.train_size",
    "data.eval_samples": "data.held_out_size",
    "log.num_samples": "log.picture_samples",
    "eval.num_samples": "eval.generated_samples",
    # model selection was hidden under log:
    "log.select_every_epochs": "select.every_epochs",
    "log.select_samples": "select.kernels",
    "log.select_valid": "select.valid_examples",
    # eval: one section per estimator instead of flat prefixed keys
    "eval.critic": "eval.critic.architecture",
    "eval.critic_units": "eval.critic.units",
    "eval.critic_seeds": "eval.critic.seeds",
    "eval.critic_steps": "eval.critic.steps",
    "eval.critic_batch_size": "eval.critic.batch_size",
    "eval.critic_lr": "eval.critic.lr",
    "eval.critic_eval_every": "eval.critic.check_every",
    "eval.critic_patience": "eval.critic.patience",
    "eval.z_grid": "eval.density.z_grid",
    "eval.x_bins": "eval.density.x_bins",
    "eval.kde_bandwidth": "eval.density.kde_bandwidth",
    "eval.w1_samples": "eval.density.w1_samples",
    "eval.mode_samples": "eval.modes.generated_samples",
    "eval.quality_std": "eval.modes.quality_std",
    "eval.parzen_kernels": "eval.parzen.kernels",
    "eval.parzen_valid": "eval.parzen.valid_examples",
    "eval.nn_samples": "eval.memorisation.samples",
    "eval.features": "eval.features.enabled",
    "eval.fid_bootstrap": "eval.features.fid_bootstrap",
    "eval.kid_subset_size": "eval.features.kid_subset_size",
    "eval.inception": "eval.features.inception",
    "eval.stacked_samples": "eval.stacked.generated_samples",
}
"""Every renamed key, old dotted path -> new dotted path. Add a line here when a key moves."""

ADDED_KEYS: dict[str, Any] = {"data.shuffle": False, "data.split_seed": 0}
"""Keys added after runs had been written, each with the value that repeats those runs: a run's
resolved config (its config.yaml, a checkpoint's config) that lacks one gets this value, not the
new default (npz and folder data cut in file order, as they were). A config a person writes gets
the default. Add a line here when a new key's default changes what an old run did."""

RESOLVED_DATA_KEYS = (
    *("root", "download", "path", "train_range", "valid_range", "test_range"),
    *("mean", "std", "modes", "radius", "grid_size", "spacing", "means", "weights"),
)
"""The data keys every resolved config has held since the first release (written out whole by
`gan train`, nulls included); a config a person writes for npz or folder data never lists them all."""

MANY = 3
"""A source with more old names than this gets one summary note instead of one per key."""

_noted: set[str] = set()


def _became_section(old: str) -> bool:
    """An old scalar key whose name is now a section (eval.critic -> eval.critic.architecture): a
    mapping at that path is the new layout, anything else the old value."""
    return RENAMES[old].startswith(old + ".")


# old scalar keys that became sections move first, so the section exists for the keys moving into it
_ORDER = sorted(RENAMES, key=lambda old: not _became_section(old))


def is_old(key: str, value: Any) -> bool:
    """Whether `key` (a dotted path) given `value` is an old name."""
    return key in RENAMES and not (_became_section(key) and (isinstance(value, dict) or value is None))


def old_names_in(section: str) -> dict[str, str]:
    """The old leaf names directly under `section` ('' for the top level) -> their new dotted paths."""
    out = {}
    for old, new in RENAMES.items():
        parent, _, leaf = old.rpartition(".")
        if parent == section:
            out[leaf] = new
    return out


def _node(raw: dict[str, Any], path: list[str], create: bool) -> dict[str, Any] | None:
    """The mapping at `path` under `raw` (made on the way when `create`); None where a part is no mapping."""
    node: Any = raw
    for part in path:
        child = node.get(part)
        if child is None and create:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            return None
        node = child
    return node


def migrate(raw: Any, source: str | None = None, notes: bool = False) -> Any:
    """`raw` (plain config data) with every old key moved to its new place, as a new dict.

    An old and a new name both given is a GanError naming both. With `notes`, print what was
    renamed on stderr (see `note`), naming `source` (a file) when given."""
    if not isinstance(raw, dict):
        return raw
    out = copy.deepcopy(raw)
    moved: list[tuple[str, str]] = []
    errors: list[str] = []
    for old in _ORDER:
        new = RENAMES[old]
        *old_parent, old_leaf = old.split(".")
        parent = _node(out, old_parent, create=False)
        if parent is None or old_leaf not in parent or not is_old(old, parent[old_leaf]):
            continue
        *new_parent, new_leaf = new.split(".")
        value = parent.pop(old_leaf)
        target = _node(out, new_parent, create=True)
        if target is None:  # the new section is given but is no mapping: validation reports it
            parent[old_leaf] = value
            continue
        if new_leaf in target:
            errors.append(f"{old} and {new}: both given, and {old} is the old name of {new}; keep only {new}")
            continue
        target[new_leaf] = value
        moved.append((old, new))
    if errors:
        raise GanError(f"invalid config{' ' + source if source else ''}:", errors)
    if notes and moved:
        note(moved, f"{source}: " if source else "")
    _add_recorded(out, source if notes else None)
    return out


def is_resolved(raw: dict[str, Any]) -> bool:
    """Whether `raw` is a config that `gan train` wrote out whole (config.yaml, a checkpoint's)."""
    d = raw.get("data")
    return isinstance(d, dict) and all(k in d for k in RESOLVED_DATA_KEYS)


def _add_recorded(raw: dict[str, Any], source: str | None) -> None:
    """In a resolved config from before a key of ADDED_KEYS existed, record that key's old
    behaviour (in place); with `source`, a note when it matters (npz or folder data)."""
    if not is_resolved(raw):
        return
    added = []
    for key, value in ADDED_KEYS.items():
        *parent, leaf = key.split(".")
        node = _node(raw, parent, create=False)
        if node is not None and leaf not in node:
            node[leaf] = value
            added.append(f"{key}: {json.dumps(value)}")
    if added and source is not None and raw["data"].get("name") in ("npz", "folder"):
        line = f"note: {source}: written before data.shuffle existed; its splits stay as they were ({', '.join(added)})"
        if line not in _noted:
            _noted.add(line)
            print(line, file=sys.stderr, flush=True)


def note(moved: list[tuple[str, str]], where: str = "") -> None:
    """One stderr line per old name used (each once per process), or one line for many."""
    if len(moved) > MANY:
        label = where.strip().rstrip(":")
        pairs = ", ".join(f"{old} -> {new}" for old, new in moved)
        lines = [
            f"note: {len(moved)} old key names{' in ' + label if label else ''} still work but have new names: {pairs}"
        ]
    else:
        lines = [f"note: {where}{old} is now {new} (the old name still works)" for old, new in moved]
    for line in lines:
        if line not in _noted:
            _noted.add(line)
            print(line, file=sys.stderr, flush=True)
