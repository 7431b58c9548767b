"""`gan sweep` (gan_cli/commands/sweep.py) refusing to start: a missing Ray, an address where nothing
listens, a sweep directory in use or absent. No Ray is started here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sweep_helpers import tiny_base, write_sweep
from typer.testing import CliRunner

from gan_cli.cli import app

runner = CliRunner()


def test_missing_ray_names_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    out = tmp_path / "o"
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path, config=tiny_base())), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: gan sweep runs its trials on Ray, which is not installed: pip install 'gan-cli[sweep]'"
    assert not out.exists()


def test_an_address_where_nothing_listens_fails_at_once(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "o"
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path)), "--out", str(out), "--address", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.startswith("error: --address 127.0.0.1:1: nothing answers at 127.0.0.1:1")
    assert not out.exists()


def test_one_sweep_directory_runs_one_sweep_at_a_time(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    fcntl = pytest.importorskip("fcntl")
    sweep_dir = write_sweep(tmp_path / "sw").parent  # base.yaml and sweep.yaml: a sweep directory's layout
    with open(sweep_dir / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a running `gan sweep` holds it
        result = runner.invoke(app, ["sweep", "--resume", str(sweep_dir)])
    assert result.exit_code == 1
    assert "another gan sweep is running on" in result.output


def test_resume_needs_a_sweep_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", "--resume", str(tmp_path)])
    assert result.exit_code == 1
    assert "no sweep.yaml there" in result.output
