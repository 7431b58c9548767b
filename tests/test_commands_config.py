"""`gan config`: the key table."""

from __future__ import annotations

from typer.testing import CliRunner

from gan_cli.cli import app

runner = CliRunner()


def gan(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_config_markdown_prints_the_whole_table() -> None:
    lines = gan("config", "--markdown").output.splitlines()
    assert lines[:2] == ["| key | default | meaning |", "|---|---|---|"]
    assert lines.count("| key | default | meaning |") == 1
    assert all(line.startswith("| `") and line.endswith(" |") for line in lines[2:])
    assert any(line.startswith("| `train.optimizer.lr` |") for line in lines)
