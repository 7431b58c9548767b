"""Loading a config: YAML files, `--set` overrides, strict validation with did-you-mean hints.

Loading is strict: unknown keys (with the closest valid key), wrong types and out-of-range values
are all collected and reported together, each with its dotted key path, in one GanError.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from gan_cli.config.schema import TOY_DATASETS, Config, join_key, key_paths
from gan_cli.errors import GanError

# An override that validates, for the hint of a malformed --set (a test checks that it does).
EXAMPLE_OVERRIDE = "train.optimizer.lr=0.05"

_MISSING = object()

SEED_MAX = 2**32 - 1
"""Largest seed: numpy's limit, and small enough that every offset seed derived from it fits torch's."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently,
    so a second `train:` block would replace the first one whole)."""

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


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) if not isinstance(a, str) else a for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"a list of {_type_name(inner)}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if tp is type(None):
        return "null"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, path: str, errors: list[str]) -> Any:
    """Convert a YAML value to `tp`; append a message to `errors` and return _MISSING on failure."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        for arg in non_none:
            trial: list[str] = []
            out = _convert(value, arg, path, trial)
            if not trial:
                return out
        if len(non_none) == 1:
            return _convert(value, non_none[0], path, errors)
        errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return _MISSING
    if origin is Literal:
        options = typing.get_args(tp)
        if value in options and isinstance(value, str):
            return value
        close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        errors.append(f"{path}: {value!r} is not one of {', '.join(map(str, options))}{hint}")
        return _MISSING
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return _MISSING
        items = [_convert(v, inner, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return _MISSING if any(i is _MISSING for i in items) else items
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, errors)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float range
                number = math.inf
            if not math.isfinite(number):
                errors.append(f"{path}: must be a finite number, got {value!r}")
                return _MISSING
            return number
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
                errors.append(f"{path}: must be a finite number, got {value!r}")
                return _MISSING
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
    return _MISSING


def _check_range(value: Any, meta: dict[str, Any], path: str, errors: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, float) and not math.isfinite(item):
                errors.append(f"{path}[{i}]: must be a finite number, got {item!r}")
    if isinstance(value, float) and not math.isfinite(value):
        errors.append(f"{path}: must be a finite number, got {value!r}")
        return
    if "len" in meta and isinstance(value, list) and len(value) != meta["len"]:
        errors.append(f"{path}: expected {meta['len']} values, got {len(value)}")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for key, ok, word in (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    ):
        if key in meta and not ok(value, meta[key]):
            errors.append(f"{path}: must be {word} {meta[key]}, got {value!r}")



def _build(cls: type, raw: Any, path: str, errors: list[str]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path or 'config'}: expected a mapping of keys to values, got {raw!r}")
        return _MISSING
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{join_key(path, close[0])}'?" if close else ""
            errors.append(f"{join_key(path, str(key))}: unknown key{hint}")
            continue
        out = _convert(value, hints[key], join_key(path, key), errors)
        if out is not _MISSING:
            _check_range(out, dict(fields[key].metadata), join_key(path, key), errors)
            kwargs[key] = out
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in raw:
            errors.append(f"{join_key(path, name)}: required key is missing")
    try:
        return cls(**kwargs)
    except TypeError:
        return _MISSING


def _semantic_checks(cfg: Config, errors: list[str]) -> None:
    """Checks that involve more than one key."""
    d = cfg.data
    for key in ("train_range", "valid_range", "test_range"):
        rng = getattr(d, key)
        if rng is not None and len(rng) == 2 and not (0 <= rng[0] < rng[1]):
            errors.append(f"data.{key}: needs 0 <= start < end, got {rng}")
    if d.name == "mixture":
        if not d.means:
            errors.append("data.means: the mixture dataset needs a list of component means")
        else:
            dims = {len(m) for m in d.means}
            if len(dims) != 1 or 0 in dims:
                errors.append("data.means: every component mean needs the same, non-zero number of coordinates")
            if d.weights is not None and len(d.weights) != len(d.means):
                errors.append(f"data.weights: {len(d.weights)} weights for {len(d.means)} components")
    if d.weights is not None and (any(w < 0 or not math.isfinite(w) for w in d.weights) or sum(d.weights) <= 0):
        errors.append("data.weights: must be non-negative with a positive sum")
    if d.name in ("npz", "folder") and not d.path:
        errors.append(f"data.path: data.name {d.name} needs a path")
    if cfg.generator.output_bias == "marginals" and d.name in TOY_DATASETS:
        errors.append("generator.output_bias: 'marginals' needs image data in [0, 1] (sigmoid output)")
    if cfg.generator.output_bias == "marginals" and cfg.generator.output_activation != "sigmoid":
        errors.append("generator.output_bias: 'marginals' is the logit of the mean pixel and needs output_activation sigmoid")
    if cfg.train.steps is None and cfg.train.epochs is None:
        errors.append("train: set a budget, train.steps or train.epochs")
    _optimizer_checks(cfg, errors)
    name = cfg.name
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0") or name != name.strip():
        errors.append(f"name: {name!r} must be a plain file name (no '/', '\\', leading or trailing spaces, '.' or '..'): the run directory is runs/<name>-<time>")
    for key, seed in (("seed", cfg.seed), ("eval.seed", cfg.eval.seed)):
        if seed > SEED_MAX:
            errors.append(f"{key}: must be at most {SEED_MAX} (2^32 - 1), got {seed}")
    if cfg.train.cuda_graphs and cfg.train.compile:
        errors.append("train.cuda_graphs: cannot be combined with train.compile; choose one")
    if cfg.train.cuda_graphs and not (cfg.train.optimizer.name == "sgd" and cfg.train.optimizer.sgd_form == "paper"):
        errors.append("train.cuda_graphs: needs train.optimizer.name sgd with sgd_form paper (its lr and momentum live on the device)")
    if cfg.train.cuda_graphs and cfg.device in ("cpu", "mps"):
        errors.append(f"train.cuda_graphs: needs a CUDA device, but device is {cfg.device}; set train.cuda_graphs: false")
    dev = cfg.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        errors.append(f"device: {dev!r} is not one of auto, cpu, cuda, cuda:N, mps")


def _optimizer_checks(cfg: Config, errors: list[str]) -> None:
    """What torch.optim would refuse, or a schedule that contradicts the lr, named by key before anything runs."""
    opt, key = cfg.train.optimizer, "train.optimizer"
    if opt.name == "adam":
        for i, beta in enumerate(opt.betas):
            if not 0.0 <= beta < 1.0:
                errors.append(f"{key}.betas[{i}]: must lie in [0, 1), got {beta!r}")
    sched = opt.lr_schedule
    if sched.name == "exponential" and sched.min_lr > opt.lr:
        errors.append(
            f"{key}.lr_schedule.min_lr: the floor {sched.min_lr:g} lies above {key}.lr {opt.lr:g}, so every update "
            f"would run at the floor; lower min_lr (paper: 1e-6 under lr 0.1)"
        )


def check_seed(seed: int, option: str) -> int:
    """A command-line seed: 0 <= seed <= 2^32 - 1, or a GanError naming the option."""
    if not 0 <= seed <= SEED_MAX:
        raise GanError(f"{option} {seed}: must be between 0 and {SEED_MAX} (2^32 - 1)")
    return seed


def from_dict(raw: Any) -> Config:
    """Build and validate a Config from plain data; raise GanError listing every problem."""
    errors: list[str] = []
    cfg = _build(Config, raw, "", errors)
    if cfg is not _MISSING and not errors:
        _semantic_checks(cfg, errors)
    if errors:
        raise GanError("invalid config:", errors)
    return cfg


def to_dict(cfg: Any) -> Any:
    """Plain nested dicts/lists (YAML- and checkpoint-safe)."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into a GanError that names the file (and line)."""
    p = Path(path)
    if not p.is_file():
        raise GanError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GanError(f"cannot read config file {p}: {exc}") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
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
        raise GanError(f"{p}: the top level must be a mapping of sections (data:, train:, ...), got {type(raw).__name__}")
    return raw


def _closest_path(key: str, valid: list[str]) -> list[str]:
    """The valid dotted path most like `key`: same last part first (train.lr -> train.optimizer.lr)."""
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [v for v in valid if v.rsplit(".", 1)[-1] == leaf]
    if same_leaf:
        return difflib.get_close_matches(key, same_leaf, n=1, cutoff=0.0)
    near_leaf = [v for v in valid if difflib.get_close_matches(leaf, [v.rsplit(".", 1)[-1]], n=1, cutoff=0.6)]
    if near_leaf:  # a misspelt last part: train.lrr -> train.optimizer.lr
        return difflib.get_close_matches(key, near_leaf, n=1, cutoff=0.0)
    return difflib.get_close_matches(key, valid, n=1, cutoff=0.5)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `KEY=VALUE` overrides (dotted path, value parsed as YAML) to a raw config dict."""
    out = copy.deepcopy(raw)
    valid = key_paths()
    errors: list[str] = []
    for item in overrides:
        if "=" not in item:
            errors.append(f"--set {item!r}: expected KEY=VALUE, e.g. {EXAMPLE_OVERRIDE}")
            continue
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in valid:
            close = _closest_path(key, valid)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errors.append(f"--set {key}: unknown key{hint}")
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
            value = text  # not YAML (e.g. the date 2001-13-99): keep the text; validation names the key
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
    return out


def load(path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> Config:
    """Load a YAML file (or a raw dict), apply overrides, validate."""
    raw = read_yaml(path) if path is not None else dict(base or {})
    if overrides:
        raw = apply_overrides(raw, overrides)
    return from_dict(raw)


