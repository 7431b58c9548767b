"""The one kind of field every config key is: a default, a one-line doc and value checks."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any


def doc_field(default: Any = dataclasses.MISSING, doc: str = "", *, factory: Any = None, **checks: Any) -> Any:
    """A dataclass field with a doc string and value checks (ge, gt, le, lt, len)."""
    meta = {"doc": doc, **checks}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)
