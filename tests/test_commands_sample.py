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

    monkeypatch.setattr("gan_cli.sample.generated_batches", too_big)
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "10000000", "--out", tmp_path / "s.npy"))
    assert "-n 10,000,000" in message and "31.4 GB" in message


# ---- hostile inputs: outputs larger than the machine


def test_npy_rows_are_streamed_and_equal_the_samples_in_memory(tmp_path: Path) -> None:
    """.npy is written batch by batch into the file (memory one batch whatever -n is); the rows are
    those generate() returns, across batch boundaries."""
    from gan_cli.sample import generate, load_models

    run = trained_run(tmp_path)
    assert gan("sample", "--ckpt", run, "-n", "25001", "--seed", "4", "--out", tmp_path / "s.npy").exit_code == 0
    loaded = load_models(run, torch.device("cpu"))
    expected = generate(loaded.G, loaded.cfg, 25001, 4, torch.device("cpu")).numpy()
    assert np.array_equal(np.load(tmp_path / "s.npy"), expected)


def test_too_large_for_the_disk_or_the_memory_is_refused_before_drawing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil as shutil_mod

    run = trained_run(tmp_path)
    monkeypatch.setattr("gan_cli.sample.generated_batches", lambda *a, **k: pytest.fail("drew samples"))
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 1_000_000)
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "1000000", "--out", tmp_path / "s.pt"))
    assert "-n 1,000,000 to a .pt file" in message and "1.0 MB is available" in message
    real = shutil_mod.disk_usage(tmp_path)
    monkeypatch.setattr("gan_cli.outputs.shutil.disk_usage", lambda p: real._replace(free=1_000_000))
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "1000000", "--out", tmp_path / "s.npy"))
    assert "needs about 4.0 MB and its disk has 1.0 MB free" in message
    assert not list(tmp_path.glob("s.*")) and not list(tmp_path.glob(".s*"))


def test_a_picture_past_its_limits_is_refused_before_drawing(tmp_path: Path) -> None:
    from gan_cli.figures.samples import MAX_PICTURE_PIXELS, check_picture_size, picture_pixels

    run = trained_run(tmp_path)
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "1000001", "--out", tmp_path / "p.png"))
    assert "at most 1,000,000 samples" in message and not (tmp_path / "p.png").exists()
    digits = {"image_shape": [1, 28, 28]}
    check_picture_size(10_000, digits, "-n")
    with pytest.raises(GanError, match="-n 10,000,000: a picture of that many images"):
        check_picture_size(10_000_000, digits, "-n")
    # 100 MNIST digits: a 10 x 10 grid of 28-pixel images with 2-pixel gaps, upscaled 2x
    assert picture_pixels(100, (1, 28, 28)) == (10 * 30 + 2) ** 2 * 4 < MAX_PICTURE_PIXELS
