"""`gan sample` from a trained run: .npy, .pt and .png outputs, repeatable with --seed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import yaml
from helpers import write_exp
from helpers import check_run_dir
from helpers import trained_run
from helpers import tiny_toy_config
from PIL import Image
from typer.testing import CliRunner

from gan_cli.cli import app
import os
import stat
import subprocess
import sys
import textwrap
import pytest
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir

runner = CliRunner()


def gan(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_toy_train_then_sample_round_trip(tmp_path: Path) -> None:
    cfg = write_exp(tmp_path, tiny_toy_config())
    run = tmp_path / "run"
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    assert "step" in result.output and "V " in result.output and "D(G(z))" in result.output
    rows = check_run_dir(run, 12)
    assert [r["step"] for r in rows] == [4, 8, 12]
    out = tmp_path / "s.npy"
    assert gan("sample", "--ckpt", run, "-n", "50", "--seed", "3", "--out", out).exit_code == 0
    a = np.load(out)
    assert a.shape == (50, 1) and np.isfinite(a).all()
    assert gan("sample", "--ckpt", run / "checkpoints" / "last.pt", "-n", "50", "--seed", "3", "--out", tmp_path / "t.npy").exit_code == 0
    assert np.array_equal(a, np.load(tmp_path / "t.npy")), "--seed makes sampling repeatable"
    assert gan("sample", "--ckpt", run, "-n", "500", "--out", tmp_path / "p.png").exit_code == 0
    assert (tmp_path / "p.png").stat().st_size > 5000
    pt = tmp_path / "s.pt"
    assert gan("sample", "--ckpt", run, "-n", "7", "--out", pt).exit_code == 0
    assert torch.load(pt, weights_only=True).shape == (7, 1)


# ---- hostile inputs: out of memory


ALLOCATOR = "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried to allocate 31360000000 bytes."


def test_out_of_memory_in_sample_is_one_line_naming_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = trained_run(tmp_path)

    def too_big(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR)

    monkeypatch.setattr("gan_cli.commands.sample.generate", too_big)
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "10000000", "--out", tmp_path / "s.npy"))
    assert "-n 10,000,000" in message and "31.4 GB" in message
