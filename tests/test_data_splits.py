"""gan_cli/data/splits.py: a user's own data (npz, folder) is split after a seeded shuffle; file
order only when asked (data.shuffle: false) or for a run written before the key existed; a split
unlike the training split is one warning line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers import tiny_toy_config, train_experiment, write_config

from gan_cli import config, data
from gan_cli.config import to_dict
from gan_cli.data.sources import load_folder
from gan_cli.data.splits import split_differences
from gan_cli.errors import GanError

IMAGE = {"generator": {"hidden": [{"units": 8}], "output_activation": "sigmoid"}}


def sorted_npz(path: Path, classes: int = 5, per_class: int = 40, labels: bool = True) -> Path:
    """A class-sorted export: class c's images are all c * 50 (so an image tells its class)."""
    y = np.repeat(np.arange(classes), per_class)
    x = (np.broadcast_to(y[:, None, None, None], (len(y), 1, 3, 3)) * 50).astype(np.uint8)
    np.savez(path, **({"x": x, "y": y} if labels else {"x": x}))
    return path


def classes_in(split: torch.Tensor) -> set[int]:
    return {round(v * 255 / 50) for v in split[:, 0].tolist()}


def npz_config(path: Path, **data_keys: object) -> config.Config:
    return config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(path), **data_keys}, **IMAGE))


def test_a_class_sorted_npz_gets_every_class_in_every_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = npz_config(sorted_npz(tmp_path / "d.npz"))
    assert cfg.data.shuffle is True and cfg.data.split_seed == 0, "the defaults of a config a person writes"
    ds = data.load(cfg)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (160, 20, 20)
    for split in (ds.train, ds.valid, ds.test):
        assert classes_in(split) == set(range(5))
    assert "warning" not in capsys.readouterr().err
    again = data.load(cfg)
    assert torch.equal(again.test, ds.test), "the same split_seed, the same splits"
    other = data.load(npz_config(tmp_path / "d.npz", split_seed=1))
    assert not torch.equal(other.test, ds.test)


def test_shuffle_false_keeps_file_order_and_warns_about_the_sorted_splits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = data.load(npz_config(sorted_npz(tmp_path / "d.npz"), shuffle=False))
    assert classes_in(ds.train) == {0, 1, 2, 3} and classes_in(ds.valid) == {4} and classes_in(ds.test) == {4}
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 2, "one line per split"
    assert lines[1].startswith("warning: data: the test split (20 examples) differs grossly from the training split")
    assert "classes 0, 1, 2, 3 are absent" in lines[1] and "mean image" in lines[1]
    assert "data.shuffle: true" in lines[1], "it says what to do"


def test_the_mean_image_alone_warns_where_there_are_no_labels(tmp_path: Path) -> None:
    cfg = npz_config(sorted_npz(tmp_path / "d.npz", labels=False), shuffle=False)
    ds = data.load(cfg)
    lines = split_differences(cfg.data, {"train": ds.train, "valid": ds.valid, "test": ds.test}, None)
    assert len(lines) == 2 and all("mean image" in line and "class shares" not in line for line in lines)
    random = torch.rand(1000, 9)
    same = {"train": random[:800], "valid": random[800:900], "test": random[900:]}
    assert split_differences(cfg.data, same, None) == [], "a random split is no gross difference"


def test_an_image_folder_with_class_sub_folders_is_labelled_and_shuffled(tmp_path: Path) -> None:
    from PIL import Image

    for c in range(3):
        (tmp_path / f"class{c}").mkdir()
        for i in range(20):
            Image.fromarray(np.full((4, 4), c * 50, dtype=np.uint8)).save(tmp_path / f"class{c}" / f"{i:02d}.png")
    cfg = config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(tmp_path)}, **IMAGE))
    _, labels = load_folder(cfg.data)
    assert labels is not None and labels.tolist() == [c for c in range(3) for _ in range(20)]
    ds = data.load(cfg)
    assert all(classes_in(s) == {0, 1, 2} for s in (ds.train, ds.valid, ds.test))


def test_npz_labels_must_match_the_images(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 2), np.float32), y=np.zeros(9, np.int64))
    with pytest.raises(GanError, match=r"array 'y'.*shape \(10,\)"):
        data.load(npz_config(tmp_path / "d.npz"))


def test_mnist_and_digits_keep_their_official_ranges() -> None:
    cfg = config.from_dict(tiny_toy_config(data={"name": "digits"}, **IMAGE))
    from sklearn.datasets import load_digits

    first = torch.from_numpy((load_digits().images[:1] / 16.0).astype(np.float32)).reshape(1, -1)
    assert torch.equal(data.load(cfg).train[:1], first), "digits: the documented [0, 1400) in file order"


def _as_before_the_key(raw: dict) -> dict:
    for key in ("shuffle", "split_seed"):
        raw["data"].pop(key)
    return raw


def test_a_run_written_before_data_shuffle_keeps_its_file_order_splits(tmp_path: Path) -> None:
    """An old run's config.yaml and checkpoint (no data.shuffle) resume and evaluate on the same
    splits as before: file order. A config a person writes without the key is shuffled."""
    from gan_cli.sample import load_models

    x = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 5.0)]).astype(np.float32)  # sorted
    np.savez(tmp_path / "d.npz", x=x)
    raw = tiny_toy_config(data={"name": "npz", "path": str(tmp_path / "d.npz")}, train={"steps": 6})
    run = tmp_path / "run"
    train_experiment(str(write_config(tmp_path / "c.yaml", raw)), ["data.shuffle=false"], out=str(run))
    # the run as the version before data.shuffle wrote it: neither key in config.yaml nor in the checkpoint
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["data"]["shuffle"] is False, "the run records what it did"
    (run / "config.yaml").write_text(yaml.safe_dump(_as_before_the_key(resolved), sort_keys=False))
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    _as_before_the_key(ckpt["config"])
    (run / "checkpoints" / "last.pt").unlink()  # a hard link of step_0000006.pt: a new file, not through it
    torch.save(ckpt, run / "checkpoints" / "last.pt")

    from_yaml = config.load(run / "config.yaml")
    from_ckpt = load_models(run / "checkpoints" / "last.pt", torch.device("cpu")).cfg
    for cfg in (from_yaml, from_ckpt):
        assert cfg.data.shuffle is False
        assert torch.equal(data.load(cfg).test, torch.full((10, 2), 5.0)), "the last 10 % of the file"
    assert config.from_dict(raw).data.shuffle is True, "a config a person wrote: shuffled"
    assert to_dict(from_yaml) == to_dict(from_ckpt)
    # the old run resumes (its data section matches its checkpoint's) and writes the recorded keys
    train_experiment(None, ["train.steps=8"], out=str(run), resume=True)
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["shuffle"] is False
