"""gan_cli/training/console.py: the reporter of a training run."""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers import tiny_toy_config


def write_exp(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw))
    return p


def test_quiet_reporter_prints_nothing_while_training(tmp_path: Path) -> None:
    import io

    from helpers import train_experiment
    from rich.console import Console

    from gan_cli.training.console import Reporter

    buffer = io.StringIO()
    cfg = write_exp(tmp_path, tiny_toy_config())
    train_experiment(str(cfg), [], out=str(tmp_path / "run"), reporter=Reporter(Console(file=buffer), quiet=True))
    assert buffer.getvalue() == "" and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
