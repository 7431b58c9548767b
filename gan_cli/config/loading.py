"""Loading a config: YAML files, `--set` overrides, strict validation with did-you-mean hints.

Loading is strict: unknown keys (with the closest valid key), wrong types and out-of-range values
are all collected and reported together, each with its dotted key path, in one GanError. The
steps live in `yaml_io`, `renames`, `overrides`, `typed` and `checks`. Old key names (the
`renames` table) load to their new places.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gan_cli.config.checks import semantic_checks
from gan_cli.config.overrides import apply_overrides
from gan_cli.config.renames import migrate
from gan_cli.config.schema import Config
from gan_cli.config.typed import MISSING, build
from gan_cli.config.yaml_io import read_yaml
from gan_cli.errors import GanError


def from_dict(raw: Any, source: str | None = None) -> Config:
    """Build and validate a Config from plain data (old key names too, quietly: a checkpoint's
    stored config); raise GanError listing every problem, headed by `source` (the file) where given."""
    errors: list[str] = []
    cfg = build(Config, migrate(raw), "", errors)
    if cfg is not MISSING and not errors:
        semantic_checks(cfg, errors)
    if errors:
        raise GanError(f"invalid config{' ' + source if source else ''}:", errors)
    return cfg


def load(
    path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None
) -> Config:
    """Load a YAML file (or a raw dict), move old key names to their new places (a note on stderr
    for each), apply overrides, validate."""
    raw = read_yaml(path) if path is not None else dict(base or {})
    raw = migrate(raw, str(path) if path is not None else None, notes=True)
    if overrides:
        raw = migrate(apply_overrides(raw, overrides), "--set", notes=True)  # a whole section set in the old layout
    source = None if path is None else str(path) + (" with its --set overrides" if overrides else "")
    return from_dict(raw, source)
