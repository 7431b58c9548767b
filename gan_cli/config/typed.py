"""Raw YAML values to the schema's typed, frozen dataclasses: every type and range error collected
with its dotted key path (and the closest valid key for an unknown one)."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import types
import typing
from typing import Any, Literal

from gan_cli.config.keys import join_key
from gan_cli.config.renames import old_names_in
from gan_cli.errors import shown

MISSING = object()
"""What a failed conversion returns (its error is in the caller's list)."""


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


def convert(value: Any, tp: Any, path: str, errors: list[str]) -> Any:
    """Convert a YAML value to `tp`; append a message to `errors` and return MISSING on failure."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        for arg in non_none:
            trial: list[str] = []
            out = convert(value, arg, path, trial)
            if not trial:
                return out
        if len(non_none) == 1:
            return convert(value, non_none[0], path, errors)
        errors.append(f"{path}: expected {_type_name(tp)}, got {shown(value)}")
        return MISSING
    if origin is Literal:
        options = typing.get_args(tp)
        if value in options and isinstance(value, str):
            return value
        close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        errors.append(f"{path}: {shown(value)} is not one of {', '.join(map(str, options))}{hint}")
        return MISSING
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            errors.append(f"{path}: expected {_type_name(tp)}, got {shown(value)}")
            return MISSING
        items = [convert(v, inner, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return MISSING if any(i is MISSING for i in items) else items
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), value, path, errors)
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
                errors.append(f"{path}: must be a finite number, got {shown(value)}")
                return MISSING
            return number
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
                errors.append(f"{path}: must be a finite number, got {shown(value)}")
                return MISSING
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    errors.append(f"{path}: expected {_type_name(tp)}, got {shown(value)}{_unquoted_hint(value, tp)}")
    return MISSING


def _unquoted_hint(value: Any, tp: Any) -> str:
    """Why a text value arrived as something else: YAML 1.1 reads an unquoted yes/no/on/off as a
    boolean and 2026-12-08 as a date, so `name: no` or `--set name=off` said 'got False'."""
    if tp is not str:
        return ""
    if isinstance(value, bool):
        return " (YAML reads an unquoted yes, no, on, off, true or false as a boolean: put the text in quotes)"
    if isinstance(value, (datetime.date, datetime.time)):
        return " (YAML reads an unquoted date or time as one: put the text in quotes)"
    return ""


def _check_range(value: Any, meta: dict[str, Any], path: str, errors: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, float) and not math.isfinite(item):
                errors.append(f"{path}[{i}]: must be a finite number, got {shown(item)}")
    if isinstance(value, float) and not math.isfinite(value):
        errors.append(f"{path}: must be a finite number, got {shown(value)}")
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
            errors.append(f"{path}: must be {word} {meta[key]}, got {shown(value)}")


def build(cls: type, raw: Any, path: str, errors: list[str]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path or 'config'}: expected a mapping of keys to values, got {shown(raw)}")
        return MISSING
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in fields:
            old = old_names_in(path)  # a near miss of an old name: its new one
            close = difflib.get_close_matches(str(key), list(fields) + list(old), n=1)
            hint = (
                f"; did you mean '{join_key(path, close[0]) if close[0] in fields else old[close[0]]}'?"
                if close
                else ""
            )
            errors.append(f"{join_key(path, str(key))}: unknown key{hint}")
            continue
        out = convert(value, hints[key], join_key(path, key), errors)
        if out is not MISSING:
            _check_range(out, dict(fields[key].metadata), join_key(path, key), errors)
            kwargs[key] = out
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in raw:
            errors.append(f"{join_key(path, name)}: required key is missing")
    try:
        return cls(**kwargs)
    except TypeError:
        return MISSING
