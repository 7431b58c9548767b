"""Tests of gan_cli/training/ranks.py."""

from __future__ import annotations
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
import pytest
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir


# ---- hostile inputs: distributed environments


def _train_with_env(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    full = {**child_env(), **env}
    return subprocess.run(
        [sys.executable, "-m", "gan_cli", "train", str(cfg), "--out", str(tmp_path / "run")],
        env=full, capture_output=True, text=True, timeout=120,
    )


def test_world_size_without_rank_is_one_line(tmp_path: Path) -> None:
    done = _train_with_env(tmp_path, WORLD_SIZE="2")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "RANK, MASTER_ADDR, MASTER_PORT are not set" in done.stderr and not (tmp_path / "run").exists()


def test_a_stale_distributed_environment_fails_within_its_bound(tmp_path: Path) -> None:
    from helpers import free_port

    done = _train_with_env(
        tmp_path, WORLD_SIZE="2", RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), GAN_RENDEZVOUS_TIMEOUT_S="2"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "could not meet the other processes" in done.stderr and "within 2 s" in done.stderr


def test_a_malformed_rendezvous_timeout_is_one_line_before_any_work(tmp_path: Path) -> None:
    """It was read by float() at the meeting, and "2m" was a ValueError's traceback."""
    from helpers import free_port

    done = _train_with_env(
        tmp_path, WORLD_SIZE="2", RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), GAN_RENDEZVOUS_TIMEOUT_S="2m"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "GAN_RENDEZVOUS_TIMEOUT_S='2m' must be a positive number of seconds" in done.stderr
    assert not (tmp_path / "run").exists()
