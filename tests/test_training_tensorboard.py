"""TensorBoard beside the run (gan_cli/training/tensorboard.py): pictures read back from their PNG,
selection rows, and `gan eval`'s metrics into the tb/ folder of a run that has one. What `gan
train` writes there end to end is in tests/test_commands_train.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gan_cli.run_dir import RunDir
from gan_cli.training import tensorboard

pytest.importorskip("tensorboard")


def read_back(tb: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[str, list[tuple[int, int, int]]]]:
    """(scalar tag -> (step, value)), (image tag -> (step, width, height)) of every event file under `tb`."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, list[tuple[int, float]]] = {}
    images: dict[str, list[tuple[int, int, int]]] = {}
    for events in sorted(tb.glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"images": 0, "scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
        for tag in acc.Tags()["images"]:
            images.setdefault(tag, []).extend((e.step, e.width, e.height) for e in acc.Images(tag))
    return scalars, images


def writer(tb: Path) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(tb))


def test_a_picture_is_logged_as_drawn_and_a_missing_one_is_skipped(tmp_path: Path) -> None:
    png = tmp_path / "step.png"
    Image.fromarray(np.full((20, 30), 128, dtype=np.uint8)).save(png)  # grey, as a 1-channel digit grid is
    w = writer(tmp_path / "tb")
    assert tensorboard.add_picture(w, "samples/fixed_noise", png, 7)
    assert not tensorboard.add_picture(w, "samples/fixed_noise", tmp_path / "none.png", 8)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert not tensorboard.add_picture(w, "samples/fixed_noise", tmp_path / "broken.png", 9)
    w.close()
    _, images = read_back(tmp_path / "tb")
    assert images == {"samples/fixed_noise": [(7, 30, 20)]}


def test_a_selection_row_is_its_finite_numbers(tmp_path: Path) -> None:
    w = writer(tmp_path / "tb")
    tensorboard.add_selection(w, {"step": 40, "epoch": 2, "valid_parzen": -1.5, "sigma": 0.2, "best": True})
    tensorboard.add_selection(w, {"step": 80, "epoch": 4, "valid_parzen": float("nan"), "sigma": 0.3, "best": False})
    w.close()
    scalars, _ = read_back(tmp_path / "tb")
    assert scalars["selection/valid_parzen"] == [(40, -1.5)]
    assert [s for s, _ in scalars["selection/sigma"]] == [40, 80]
    assert "selection/best" not in scalars and "selection/epoch" not in scalars


def result(run: Path, step: int, **metrics: Any) -> dict[str, Any]:
    return {
        "checkpoint": str(run / "checkpoints" / f"step_{step:07d}.pt"),
        "step": step,
        "metrics": {name: {"value": value, "se": 0.1} for name, value in metrics.items()},
    }


def test_eval_metrics_go_to_the_tb_folder_of_a_run_that_has_one(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.tensorboard.mkdir(parents=True)
    rows = [result(run.path, 100, value=-1.2, w1=0.3), result(run.path, 200, value=-1.3, w1=None, jsd=float("inf"))]
    assert tensorboard.log_eval(*rows) == 3
    scalars, _ = read_back(run.tensorboard)
    assert scalars["eval/value"] == [(100, pytest.approx(-1.2)), (200, pytest.approx(-1.3))]
    assert [s for s, _ in scalars["eval/w1"]] == [100] and "eval/jsd" not in scalars


def test_eval_writes_nothing_to_a_run_without_tb(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.checkpoints.mkdir(parents=True)
    assert tensorboard.log_eval(result(run.path, 100, value=-1.2)) == 0
    assert not run.tensorboard.exists()
    assert tensorboard.log_eval({"metrics": {}}) == 0  # no checkpoint named: no run to write into
