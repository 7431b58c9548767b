"""The config's keys as dotted paths (`train.optimizer.lr`), and each leaf key's default and doc:
what `--set` validates against, `gan config` prints and docs/config.md shows."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from gan_cli.config.schema import Config


def join_key(path: str, key: str) -> str:
    """`train` + `k` -> `train.k`; the top level has no prefix."""
    return f"{path}.{key}" if path else key


def key_paths(cls: type = Config, prefix: str = "") -> list[str]:
    """Every dotted key path of `cls`, sections included (`train`, `train.optimizer`, `train.optimizer.lr`)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        p = join_key(prefix, f.name)
        out.append(p)
        if dataclasses.is_dataclass(hints[f.name]):
            out.extend(key_paths(hints[f.name], p))
    return out


def field_docs(cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, default, doc) for every leaf key: what `gan config` prints and docs/config.md shows."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        p = join_key(prefix, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.extend(field_docs(typing.cast(type, tp), p))
            continue
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        )
        if isinstance(default, list):
            default = [dataclasses.asdict(typing.cast(Any, d)) if dataclasses.is_dataclass(d) else d for d in default]
        out.append((p, default, f.metadata.get("doc", "")))
    return out
