"""Data are checked at load, before a run directory exists: each bad file is one message naming it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_toy_config, write_idx

from gan_cli import config, data
from gan_cli.errors import GanError


def _npz_config(path: Path) -> config.Config:
    return config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(path)}, generator={"output_activation": "linear"}))


def _load_npz(tmp_path: Path, **arrays: np.ndarray) -> data.Dataset:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return data.load(_npz_config(path))


@pytest.mark.parametrize(
    "bad, where",
    [(np.nan, "row 7"), (np.inf, "row 7"), (-np.inf, "row 7"), (1e39, "row 7")],
)
def test_npz_with_non_finite_values_is_refused_naming_the_row(tmp_path: Path, bad: float, where: str) -> None:
    x = np.random.default_rng(0).normal(size=(50, 3))
    x[7, 1] = bad
    with pytest.raises(GanError, match=f"data.path: array 'x' .* 1 rows .*{where}"):
        _load_npz(tmp_path, x=x)


def test_npz_without_x_names_the_arrays_it_holds(tmp_path: Path) -> None:
    with pytest.raises(GanError, match=r"no array named 'x' \(it holds images, labels\)"):
        _load_npz(tmp_path, images=np.zeros((10, 2)), labels=np.zeros(10))
    with pytest.raises(GanError, match="no array named 'x'"):
        _load_npz(tmp_path, arr_0=np.zeros((10, 2)))


@pytest.mark.parametrize("x", [np.array([["a", "b"]] * 10), np.ones((10, 2), dtype=bool), np.ones((10, 2), dtype=complex)])
def test_npz_of_non_real_values_is_refused(tmp_path: Path, x: np.ndarray) -> None:
    with pytest.raises(GanError, match="must hold real numbers"):
        _load_npz(tmp_path, x=x)


@pytest.mark.parametrize("shape", [(10,), (0, 3), (10, 0)])
def test_npz_of_the_wrong_shape_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(GanError, match=r"must have shape \(N, ...\)"):
        _load_npz(tmp_path, x=np.zeros(shape))


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"\x93NUMPY not really", bytes(range(256)) * 8])
def test_corrupt_npz_bytes_are_one_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(GanError, match="data.path"):
        data.load(_npz_config(path))


def _mnist_config(root: Path, name: str = "mnist") -> config.Config:
    return config.from_dict(tiny_toy_config(data={"name": name, "root": str(root), "download": False}, generator={"output_activation": "sigmoid"}))


def _official_size_root(tmp_path: Path, folder: str, pixel: int) -> Path:
    """IDX files of the official sizes (60,000 and 10,000 images of 28x28) whose every pixel is `pixel`."""
    raw = tmp_path / folder / "raw"
    write_idx(raw / "train-images-idx3-ubyte", np.full((60_000, 28, 28), pixel, np.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", np.full((10_000, 28, 28), pixel, np.uint8))
    return tmp_path


def test_fashion_mnist_files_under_the_mnist_name_are_refused(tmp_path: Path) -> None:
    root = _official_size_root(tmp_path, "MNIST", 73)  # mean 0.286: Fashion-MNIST's
    with pytest.raises(GanError, match="not the official mnist train images .* looks like fashion-mnist's train file"):
        data.load(_mnist_config(root))


def test_mnist_files_under_the_fashion_name_are_refused(tmp_path: Path) -> None:
    root = _official_size_root(tmp_path, "FashionMNIST", 33)  # mean 0.129: MNIST's
    with pytest.raises(GanError, match="looks like mnist's train file"):
        data.load(_mnist_config(root, "fashion-mnist"))


def test_official_sizes_of_unknown_content_are_refused(tmp_path: Path) -> None:
    root = _official_size_root(tmp_path, "MNIST", 200)
    with pytest.raises(GanError, match="matches no official file"):
        data.load(_mnist_config(root))


def test_a_subset_of_the_official_file_loads_as_given(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((120, 28, 28), np.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((30, 28, 28), np.uint8))
    cfg = config.from_dict(tiny_toy_config(data={"name": "mnist", "root": str(tmp_path), "download": False, "train_range": [0, 100], "valid_range": [100, 120]}, generator={"output_activation": "sigmoid"}))
    ds = data.load(cfg)
    assert ds.train.shape == (100, 784)


@pytest.mark.parametrize(
    "payload",
    [b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff" * 40, b"\x1f\x8b", gzip.compress(b"\x00\x00\x08\x03" + b"\xff" * 12)[:-9]],
)
def test_corrupt_gzip_idx_is_one_message(tmp_path: Path, payload: bytes) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(payload)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((30, 28, 28), np.uint8))
    with pytest.raises(GanError, match="train-images-idx3-ubyte.gz"):
        data.load(_mnist_config(tmp_path))


def test_an_idx_header_declaring_an_enormous_shape_is_one_message(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + b"\x00" * 100)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((30, 28, 28), np.uint8))
    with pytest.raises(GanError, match="truncated"):
        data.load(_mnist_config(tmp_path))


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, b"GIF89a" + b"\xff" * 20, b"BM" + b"\x00" * 60])
def test_corrupt_image_files_in_a_folder_are_one_message(tmp_path: Path, content: bytes) -> None:
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("L", (8, 8)).save(folder / "a.png")
    (folder / "b.png").write_bytes(content)
    cfg = config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"output_activation": "sigmoid"}))
    with pytest.raises(GanError, match="cannot read image .*b.png"):
        data.load(cfg)
