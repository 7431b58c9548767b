"""What a checkpoint records of the data it trained on, so that a resume or an evaluation can tell
that the files under data.root (or data.path) changed since: a folder that gained images, an npz
rewritten, an MNIST file replaced. Such a change moves the seeded split, so validation and test
images may be ones G trained on, and a resume no longer continues the same run.

Each split is recorded as its row count and the SHA-256 of its values as loaded (float32 after
scaling), cut to 16 hex digits; MNIST's three splits hash in about 0.2 s on one CPU core. Toy data
is drawn from the config itself (its seed and parameters, which a resume already compares), so it
has no fingerprint.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from gan_cli.config import DataConfig
from gan_cli.data.dataset import SPLIT_NAMES, Dataset
from gan_cli.errors import shown

DIGITS = 16
"""Hex digits of the SHA-256 kept per split (64 bits: a chance change collides once in 2^64)."""


def split_fingerprint(rows: torch.Tensor) -> str:
    """'N rows, sha256 HEX' of one split's values, as stored (C order, native byte order)."""
    values = rows.detach().cpu().contiguous().numpy()
    return f"{len(rows):,} rows, sha256 {hashlib.sha256(values.data).hexdigest()[:DIGITS]}"


def fingerprint(ds: Dataset) -> dict[str, str] | None:
    """Each split's split_fingerprint, or None for toy data (the config defines it)."""
    if ds.target is not None:
        return None
    return {name: split_fingerprint(ds.split(name)) for name in SPLIT_NAMES}


def changes(recorded: Any, now: dict[str, str] | None) -> list[str]:
    """'split: recorded -> now' for each split whose fingerprint differs; [] when they agree or when
    either side has none (a checkpoint written before fingerprints, or toy data). What a checkpoint
    recorded is shown cut to 80 characters: the file may be anyone's."""
    if not isinstance(recorded, dict) or now is None:
        return []
    return [
        f"{name}: {_as_recorded(recorded[name])} -> {now[name]}"
        for name in SPLIT_NAMES
        if name in recorded and name in now and recorded[name] != now[name]
    ]


def _as_recorded(value: Any) -> str:
    """A checkpoint's fingerprint of one split for a message: a string as written, anything else
    as its repr, both cut to 80 characters."""
    return value[:80] if isinstance(value, str) else shown(value)


def where(data_cfg: DataConfig) -> str:
    """The config key that says where the data's files are, with its value (for messages)."""
    if data_cfg.name in ("npz", "folder"):
        return f"data.path ({data_cfg.path})"
    if data_cfg.name == "digits":
        return "scikit-learn's bundled digits"
    return f"data.root ({data_cfg.root})"
