"""Config files: strict YAML reading (a key given twice is an error) and writing."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

import yaml

from gan_cli.config.schema import Config
from gan_cli.errors import GanError
from gan_cli.file_kinds import DANGLING, DIRECTORY, MISSING, input_problem

MAX_EXPANDED_NODES = 100_000
"""Most values a YAML document may hold once its aliases are expanded: a config or sweep file has
hundreds; a few aliases nested ("billion laughs") expand a kilobyte into billions."""


MAX_YAML_BYTES = 1_000_000
"""Largest config or sweep file read, in bytes: such a file is a few kilobytes, and PyYAML takes
minutes over tens of megabytes before any check on what they hold could run."""


class TooLarge(Exception):
    """A YAML document whose aliases expand beyond MAX_EXPANDED_NODES."""


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """The number of nodes `node` stands for once every alias is expanded (each shared node is
    counted once per use, computed once)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_EXPANDED_NODES + 1  # a node inside itself (a recursive alias) is too large
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        size = 1
    memo[id(node)] = size
    if size > MAX_EXPANDED_NODES:
        raise TooLarge(size)
    return size


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently,
    so a second `train:` block would replace the first one whole), and a document whose aliases
    expand beyond MAX_EXPANDED_NODES values (checked on the node graph, before anything is built)."""

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, {})
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                break
            if first is not None:
                raise _DuplicateKey(key, first, key_node.start_mark.line + 1)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first_line: int, line: int) -> None:
        super().__init__(key)
        self.key, self.first_line, self.line = key, first_line, line


def to_dict(cfg: Any) -> Any:
    """Plain nested dicts/lists (YAML- and checkpoint-safe)."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def parse_value(text: str) -> Any:
    """One YAML value (a --set value): TooLarge when its aliases expand too far; yaml.YAMLError,
    ValueError ... as PyYAML raises them."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into a GanError that names the file (and line)."""
    p = Path(path)
    problem = input_problem(p)
    if problem == DIRECTORY:
        raise GanError(
            f"{p} is a directory, not a YAML file (to continue a run: gan train --resume {shlex.quote(str(p))})"
        )
    if problem in (MISSING, DANGLING):
        raise GanError(f"config file not found: {p}")
    if problem is not None:
        raise GanError(f"{p} is not a YAML file: {problem}")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise GanError(f"cannot read config file {p}: {exc.strerror or exc}") from None
    if size > MAX_YAML_BYTES:
        raise GanError(
            f"{p} is {size / 1e6:,.1f} MB; a config or sweep file is at most {MAX_YAML_BYTES / 1e6:g} MB "
            "(data belongs in a file that data.path names)"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GanError(f"cannot read config file {p}: {exc}") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except TooLarge:
        raise GanError(
            f"{p}: holds more than {MAX_EXPANDED_NODES:,} values once its YAML aliases (*name) are expanded; "
            "a config holds hundreds (write aliased values out)"
        ) from None
    except _DuplicateKey as dup:
        raise GanError(
            f"{p}: line {dup.line}: key {dup.key!r} appears a second time (first at line {dup.first_line}); "
            f"YAML would keep only the last one: merge them"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GanError(f"{p}:{where}: malformed YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise plain errors for values such as the date 2001-13-99
        raise GanError(f"{p}: malformed YAML: a value cannot be read ({exc})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GanError(
            f"{p}: the top level must be a mapping of sections (data:, train:, ...), got {type(raw).__name__}"
        )
    return raw
