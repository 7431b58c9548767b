"""gan_cli/data/fingerprint.py: a checkpoint records each split's row count and SHA-256; a resume
or an evaluation of data whose files changed since (rows added, a value rewritten) is refused in
one message that names where the data lives and each split that moved, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from helpers import gan, tiny_toy_config, write_config

from gan_cli import config, data
from gan_cli.data.fingerprint import changes, fingerprint, split_fingerprint
from gan_cli.run_dir import LOCKS

ZEROS_16_BYTES = "374708fff7719dd5"  # sha256 of 16 zero bytes (hashlib, or any sha256sum)
ONE_TO_FOUR = "ad73b9acd6e4a74b"  # sha256 of the little-endian float32s 1, 2, 3, 4


def test_a_split_is_its_row_count_and_the_sha256_of_its_float32_values() -> None:
    assert split_fingerprint(torch.zeros(2, 2)) == f"2 rows, sha256 {ZEROS_16_BYTES}"
    assert split_fingerprint(torch.tensor([[1.0, 2.0], [3.0, 4.0]])) == f"2 rows, sha256 {ONE_TO_FOUR}"
    assert split_fingerprint(torch.tensor([[1.0, 3.0], [2.0, 4.0]]).t()) == f"2 rows, sha256 {ONE_TO_FOUR}", "C order"
    assert split_fingerprint(torch.zeros(1234, 1)).startswith("1,234 rows")


def test_changes_lists_each_split_that_moved_and_nothing_without_a_record() -> None:
    before = {"train": "4 rows, sha256 a", "valid": "1 rows, sha256 b", "test": "1 rows, sha256 c"}
    after = {**before, "train": "5 rows, sha256 d"}
    assert changes(before, after) == ["train: 4 rows, sha256 a -> 5 rows, sha256 d"]
    assert changes(before, dict(before)) == []
    assert changes(None, after) == [], "a checkpoint written before fingerprints is not refused"
    assert changes(before, None) == [], "toy data (defined by the config) has none"
    hostile = {"train": "x" * 10**6, "valid": [0] * 10**6, "test": before["test"]}
    assert [len(line) < 250 for line in changes(hostile, after)] == [True, True], "a checkpoint's values are cut"


def _npz(path: Path, x: np.ndarray) -> Path:
    np.savez(path, x=x)
    return path


def test_the_same_files_give_the_same_fingerprint_and_toy_data_none(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    cfg = config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(_npz(tmp_path / "d.npz", x))}))
    first = fingerprint(data.load(cfg))
    assert first is not None and set(first) == {"train", "valid", "test"}
    assert fingerprint(data.load(cfg)) == first
    x[0, 0] += 1e-3  # one value of one row
    _npz(tmp_path / "d.npz", x)
    assert len(changes(first, fingerprint(data.load(cfg)))) == 1, "only the split holding that row moved"
    assert fingerprint(data.load(config.from_dict(tiny_toy_config()))) is None


def _all_bytes(run: Path) -> dict[Path, bytes]:
    """Every file of the run but its (empty) lock files, which each command may create."""
    return {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name not in LOCKS.values()}


def test_a_resume_or_an_eval_of_changed_data_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """A folder that gained images moves the seeded split: a resume would train on other batches,
    and gan eval would score held-out images that G trained on."""
    x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    npz = _npz(tmp_path / "d.npz", x)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(data={"name": "npz", "path": str(npz)}))
    run = tmp_path / "run"
    assert gan("train", cfg, "--out", run).exit_code == 0
    _npz(npz, np.concatenate([x, x[:5]]))  # five more rows
    before = _all_bytes(run)
    for args in (["train", "--resume", run, "--set", "train.steps=16"], ["eval", "--ckpt", run]):
        result = gan(*args)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert f"the data under data.path ({npz}) is not what the" in result.stderr
        assert "  - train: 160 rows, sha256 " in result.stderr and " -> 164 rows, sha256 " in result.stderr
        assert _all_bytes(run) == before, f"gan {args[0]} wrote nothing"
    _npz(npz, x)  # the files restored: both go on
    assert gan("train", "--resume", run, "--set", "train.steps=16").exit_code == 0
    assert gan("eval", "--ckpt", run, "--set", "eval.critic.steps=20").exit_code == 0
