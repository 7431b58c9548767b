"""`gan train` reaches Algorithm 1's D update in few calls, each in a file whose name says its job."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import torch
from helpers import REPO, gan, tiny_toy_config, write_config


def test_gan_train_reaches_d_loss_backward_in_four_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stacks: list[list[traceback.FrameSummary]] = []
    backward = torch.Tensor.backward

    def recording(self: torch.Tensor, *args: object, **kwargs: object) -> None:
        if not stacks:
            stacks.append(traceback.extract_stack())
        backward(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.Tensor, "backward", recording)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(train={"batch_size": 32, "steps": 1, "optimizer": {"name": "adam", "lr": 0.001}}))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    frames = [(Path(f.filename).resolve(), f.name) for f in stacks[0]]
    package = REPO / "gan_cli"
    ours = [(p.relative_to(package).as_posix(), name) for p, name in frames if p.is_relative_to(package)]
    start = max(i for i, (path, name) in enumerate(ours) if (path, name) == ("cli.py", "train"))
    assert ours[start + 1 :] == [
        ("commands/train.py", "train"),
        ("training/run.py", "run"),
        ("training/loop.py", "train_step"),
        ("training/updates.py", "discriminator"),
    ], ours[start:]
