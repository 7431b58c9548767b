"""gan_cli/data/. Datasets: toy targets, digits, tiny IDX files for MNIST, splits, the batch sampler;
bad data files (hostile inputs) and any bytes in them (fuzz)."""

from __future__ import annotations

import gzip
import io
import math
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import file_mutations, loads_or_one_error
from helpers import tiny_toy_config, write_idx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan_cli import config, data, toy
from gan_cli.errors import GanError
import os
import stat
import subprocess
import sys
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.run_dir import RunDir


def test_ring_has_k_distinct_modes_on_the_circle() -> None:
    ring = toy.ring(8, 2.0, 0.02)
    assert ring.means.shape == (8, 2)
    assert torch.allclose(ring.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    assert len({tuple(m.round(decimals=6).tolist()) for m in ring.means}) == 8


def test_grid_means() -> None:
    g = toy.grid(5, 2.0, 0.05)
    assert sorted(set(g.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_gaussian_log_prob_is_exact() -> None:
    g = toy.gaussian(1.0, 0.5)
    x = torch.tensor([[0.0], [1.0], [2.5]])
    expected = -((x[:, 0].double() - 1) ** 2) / (2 * 0.25) - math.log(0.5 * math.sqrt(2 * math.pi))
    assert torch.allclose(g.log_prob(x), expected)


def test_mixture_density_integrates_to_one() -> None:
    m = toy.GaussianMixture(torch.tensor([[0.0], [3.0]], dtype=torch.float64), torch.tensor([0.5, 1.0], dtype=torch.float64), torch.tensor([0.3, 0.7], dtype=torch.float64))
    xs = torch.linspace(-10, 15, 20001, dtype=torch.float64)[:, None]
    assert abs(torch.trapezoid(m.log_prob(xs).exp(), xs[:, 0]).item() - 1) < 1e-6


def test_toy_splits_differ_and_have_requested_sizes() -> None:
    ds = data.load(config.from_dict(tiny_toy_config()))
    assert ds.train.shape == (256, 1) and ds.valid.shape == (128, 1) and ds.test.shape == (128, 1)
    assert not torch.equal(ds.valid, ds.test)
    assert abs(ds.train.mean().item() - 1.0) < 0.15


def test_mnist_loader_reads_tiny_idx_files(tiny_mnist_root: Path) -> None:
    raw = tiny_toy_config(
        data={"name": "mnist", "root": str(tiny_mnist_root), "train_range": [0, 100], "valid_range": [100, 120]},
        generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"},
    )
    ds = data.load(config.from_dict(raw))
    assert ds.train.shape == (100, 784) and ds.valid.shape == (20, 784) and ds.test.shape == (30, 784)
    assert ds.image_shape == (1, 28, 28)
    assert 0.0 <= ds.train.min() and ds.train.max() <= 1.0
    assert ds.train.max() > 0.9, "pixels / 255, not binarised"
    first = data.read_idx(tiny_mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")
    assert torch.allclose(ds.train[0], torch.from_numpy(first[0].reshape(-1) / 255.0).float())


def test_tanh_generator_gets_pixels_in_minus_one_one(tiny_mnist_root: Path) -> None:
    raw = tiny_toy_config(
        data={"name": "mnist", "root": str(tiny_mnist_root), "train_range": [0, 100], "valid_range": [100, 120]},
        generator={"hidden": [{"units": 8}], "output_activation": "tanh"},
    )
    ds = data.load(config.from_dict(raw))
    assert ds.train.min() >= -1 and ds.train.min() < -0.9 and ds.value_range == (-1.0, 1.0)


def test_missing_mnist_says_where_to_put_the_files(tmp_path: Path) -> None:
    raw = tiny_toy_config(data={"name": "mnist", "root": str(tmp_path)}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    with pytest.raises(GanError, match=r"place train-images-idx3-ubyte.gz .* in .*MNIST/raw.*data.download: true"):
        data.load(config.from_dict(raw))


def test_an_idx_header_past_the_memory_is_refused_before_the_data_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzipped IDX file of a few megabytes can unpack to gigabytes: the declared size is checked
    against the memory available, and no more than the declared bytes are read."""
    images = np.arange(4 * 3 * 3).reshape(4, 3, 3)
    p = write_idx(tmp_path / "x-idx3-ubyte", images, gz=True)
    with gzip.open(p, "ab") as fh:
        fh.write(bytes(5_000_000))  # trailing bytes past the declared 36
    assert np.array_equal(data.read_idx(p), images)
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 100)
    with pytest.raises(GanError, match=r"x-idx3-ubyte.gz: its header declares 36 values: needs about 180 bytes of memory and 100 bytes is available"):
        data.read_idx(p)


def test_an_idx_header_with_a_zero_and_enormous_dimensions_is_one_message(tmp_path: Path) -> None:
    """No data is needed for a shape with a 0 in it, but no array can have the other dimensions."""
    p = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(bytes([0, 0, 8, 4]) + struct.pack(">IIII", 5_263_376, 5_242_960, 5_242_960, 0))
    with pytest.raises(GanError, match=r"x-idx3-ubyte.gz: its header declares the shape \(5263376, 5242960, 5242960, 0\), which no array can have"):
        data.read_idx(p)


def test_corrupt_idx_is_a_clear_error(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 3, 3)))
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(GanError, match="truncated"):
        data.read_idx(p)
    p.write_bytes(b"\x01\x02\x03")
    with pytest.raises(GanError, match="magic"):
        data.read_idx(p)


def test_split_past_the_pool_is_an_error(tiny_mnist_root: Path) -> None:
    raw = tiny_toy_config(
        data={"name": "mnist", "root": str(tiny_mnist_root), "train_range": [0, 500]},
        generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"},
    )
    with pytest.raises(GanError, match=r"data.train_range: \[0, 500\) reaches past the 120 examples"):
        data.load(config.from_dict(raw))


def test_digits_are_offline_8x8_in_unit_range() -> None:
    raw = tiny_toy_config(data={"name": "digits"}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    ds = data.load(config.from_dict(raw))
    assert ds.image_shape == (1, 8, 8) and ds.train.shape == (1400, 64)
    assert ds.train.max() == 1.0 and ds.train.min() == 0.0


def test_npz_dataset(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32))
    raw = tiny_toy_config(data={"name": "npz", "path": str(tmp_path / "d.npz")})
    ds = data.load(config.from_dict(raw))
    assert ds.train.shape == (80, 3) and ds.valid.shape == (10, 3) and ds.test.shape == (10, 3)


def test_sampler_reshuffles_each_epoch_and_covers_every_example() -> None:
    s = data.EpochSampler(10, 3, seed=0, device=torch.device("cpu"))
    first = torch.cat([s.next() for _ in range(3)])
    second = torch.cat([s.next() for _ in range(3)])
    assert s.epoch == 1 and len(set(first.tolist())) == 9 and len(set(second.tolist())) == 9
    assert not torch.equal(first, second)


def test_sampler_state_round_trip() -> None:
    a = data.EpochSampler(20, 4, seed=1, device=torch.device("cpu"))
    for _ in range(7):
        a.next()
    b = data.EpochSampler(20, 4, seed=99, device=torch.device("cpu"))
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(a.next(), b.next()) for _ in range(12))


def test_batch_larger_than_dataset_is_an_error() -> None:
    with pytest.raises(GanError, match="train.batch_size"):
        data.EpochSampler(10, 11, seed=0, device=torch.device("cpu"))


def test_missing_cifar10_says_where_to_put_the_files(tmp_path: Path) -> None:
    raw = tiny_toy_config(data={"name": "cifar10", "root": str(tmp_path)}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    with pytest.raises(GanError, match=r"cifar-10-batches-py.*data.download: true"):
        data.load(config.from_dict(raw))


def test_fashion_mnist_reads_its_own_folder(tmp_path: Path) -> None:
    raw_dir = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw_dir / "train-images-idx3-ubyte", np.full((30, 4, 4), 255))
    write_idx(raw_dir / "t10k-images-idx3-ubyte", np.zeros((5, 4, 4)))
    raw = tiny_toy_config(
        data={"name": "fashion-mnist", "root": str(tmp_path), "train_range": [0, 20], "valid_range": [20, 30]},
        generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"},
    )
    ds = data.load(config.from_dict(raw))
    assert ds.train.shape == (20, 16) and ds.train.min() == 1.0 and ds.test.max() == 0.0


def test_image_folder_dataset(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(20):
        Image.fromarray(np.full((6, 5, 3), i * 10, dtype=np.uint8)).save(tmp_path / f"{i:02d}.png")
    raw = tiny_toy_config(data={"name": "folder", "path": str(tmp_path)}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    ds = data.load(config.from_dict(raw))
    assert ds.image_shape == (3, 6, 5) and ds.train.shape == (16, 90)
    Image.fromarray(np.zeros((7, 7), dtype=np.uint8)).save(tmp_path / "odd.png")
    with pytest.raises(GanError, match="differ in size"):
        data.load(config.from_dict(raw))


def test_mixture_in_three_dimensions() -> None:
    raw = tiny_toy_config(data={"name": "mixture", "means": [[0, 0, 0], [5, 5, 5]], "weights": [1, 3], "std": 0.1, "train_size": 400})
    ds = data.load(config.from_dict(raw))
    assert ds.dim == 3 and ds.target is not None
    frac_far = (ds.train[:, 0] > 2.5).float().mean().item()
    assert 0.65 < frac_far < 0.85, "weights 1:3 are normalised"


def test_mixture_config_checks() -> None:
    with pytest.raises(GanError, match="data.means: the mixture dataset needs"):
        config.from_dict(tiny_toy_config(data={"name": "mixture"}))
    with pytest.raises(GanError, match="data.weights: 1 weights for 2 components"):
        config.from_dict(tiny_toy_config(data={"name": "mixture", "means": [[0], [1]], "weights": [1]}))


# ---------------------------------------------------------------- hostile inputs: bad data files


# Data are checked at load, before a run directory exists: each bad file is one message naming it.


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


@pytest.mark.parametrize(
    "x, shown",
    [
        (np.arange(40, dtype=np.uint16).reshape(10, 4) * 1000, "from 0 to 39,000"),  # 16-bit images
        (np.linspace(0, 255, 40, dtype=np.float32).reshape(10, 4), "from 0 to 255"),  # 0..255 as floats
        (np.linspace(-1, 1, 40).reshape(10, 4), "from -1 to 1"),  # already tanh's range
    ],
)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_npz_values_outside_a_bounded_generator_range_are_refused(tmp_path: Path, x: np.ndarray, shown: str, activation: str) -> None:
    """A sigmoid G cannot reach a value past [0, 1] (nor a tanh G one past the [-1, 1] made from
    it): such a run trained to its end and never showed why it could not fit."""
    path = tmp_path / "d.npz"
    np.savez(path, x=x)
    cfg = config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(path)}, generator={"output_activation": activation}))
    with pytest.raises(GanError, match=rf"d.npz holds values {shown}, outside \[0, 1\], which generator.output_activation: {activation}"):
        data.load(cfg)
    taken = data.load(_npz_config(path)).train  # linear: taken as it is
    assert taken.min() < 0 or taken.max() > 1
    np.savez(path, x=x / np.abs(x).max() if x.min() >= 0 else (x + 1) / 2)
    assert data.load(cfg).train.shape[1] == 4


@pytest.mark.parametrize("shape", [(10,), (0, 3), (10, 0)])
def test_npz_of_the_wrong_shape_is_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(GanError, match=r"must have shape \(N, ...\)"):
        _load_npz(tmp_path, x=np.zeros(shape))


def test_an_npz_larger_than_the_memory_is_refused_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compressed npz of a few kilobytes can hold gigabytes of zeros: the header of 'x' gives its
    size, checked against the memory available before a byte of it is read."""
    path = tmp_path / "d.npz"
    np.savez_compressed(path, x=np.zeros((100_000, 100), dtype=np.float32))
    assert path.stat().st_size < 100_000
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 50_000_000)
    read: list[str] = []
    original = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: read.append("x") or original(*a, **k))
    with pytest.raises(GanError, match=r"data.path: array 'x' in .*d.npz \(10,000,000 values\) read as float32: needs about 80.0 MB of memory and 50.0 MB is available"):
        data.load(_npz_config(path))
    assert read == [], "the array was read before its size was checked"
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 500_000_000)
    assert len(data.load(_npz_config(path)).train) > 0 and read == ["x"]



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


# ---------------------------------------------------------------- fuzz: any bytes in a data file load or fail cleanly


# Property: whatever bytes stand in a file the tool reads (npz data, gzip IDX, images, checkpoints),
# loading it gives data, or one GanError naming the file; never another exception.


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


WORKDIR = Path(tempfile.mkdtemp(prefix="gan-file-fuzz-"))


def _valid_gz_idx() -> bytes:
    path = write_idx(WORKDIR / "seed-idx", np.zeros((30, 4, 4), np.uint8), gz=True)
    return path.read_bytes()


def _valid_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    return buf.getvalue()


def _valid_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (6, 6), 128).save(buf, format="PNG")
    return buf.getvalue()


@FUZZ
@given(file_mutations(_valid_npz()))
def test_npz_bytes(content: bytes) -> None:
    path = WORKDIR / "d.npz"
    path.write_bytes(content)
    cfg = config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(path), "train_range": None}, generator={"output_activation": "linear"}))
    loads_or_one_error(lambda: data.load(cfg), path)


@FUZZ
@given(file_mutations(_valid_gz_idx()))
def test_gzip_idx_bytes(content: bytes) -> None:
    raw = WORKDIR / "idx" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((8, 4, 4), np.uint8))
    cfg = config.from_dict(tiny_toy_config(data={"name": "mnist", "root": str(WORKDIR / "idx"), "download": False, "train_range": [0, 20], "valid_range": [20, 30]}, generator={"output_activation": "sigmoid"}, train={"batch_size": 4, "steps": 1}))
    loads_or_one_error(lambda: data.load(cfg))


@FUZZ
@given(file_mutations(_valid_png()))
def test_image_file_bytes(content: bytes) -> None:
    folder = WORKDIR / "imgs"
    folder.mkdir(exist_ok=True)
    Image.new("L", (6, 6)).save(folder / "a.png")
    path = folder / "b.png"
    path.write_bytes(content)
    cfg = config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"output_activation": "sigmoid"}, train={"batch_size": 1, "steps": 1}))
    loads_or_one_error(lambda: data.load(cfg))


# ---- hostile inputs: special files in an image folder


def test_an_image_folder_reads_regular_files_only(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(60):
        Image.fromarray((np.random.default_rng(i).random((8, 8)) * 255).astype("uint8")).save(folder / f"{i}.png")
    os.mkfifo(folder / "blocking.png")
    cfg = tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    done = subprocess.run(  # a child with a time limit: the bug this guards against is a read that never returns
        [sys.executable, "-m", "gan_cli", "train", str(write_config(tmp_path / "c.yaml", cfg)), "--dry-run"],
        env=child_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _load_from(tmp_path: Path, **data_keys: object) -> str:
    cfg = config.from_dict(tiny_toy_config(data=data_keys))
    with pytest.raises(GanError) as err:
        data.load(cfg)
    return str(err.value)


def test_a_data_file_that_is_not_a_regular_file_is_named_by_its_kind(tmp_path: Path) -> None:
    # a FIFO npz was "not found", and FIFOs under MNIST's names were taken for missing files: a
    # download was tried over them, and offline the message said to place files that were there
    os.mkfifo(tmp_path / "f.npz")
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "gone.npz")
    assert _load_from(tmp_path, name="npz", path=str(tmp_path / "f.npz")) == (
        f"data.path: {tmp_path / 'f.npz'} is not an npz file: it is a FIFO (named pipe)"
    )
    assert "is not an npz file: it is a link to a missing file" in _load_from(
        tmp_path, name="npz", path=str(tmp_path / "dangling.npz")
    )
    assert "npz file not found" in _load_from(tmp_path, name="npz", path=str(tmp_path / "absent.npz"))

    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), dtype=np.uint8))
    os.mkfifo(raw / "train-images-idx3-ubyte.gz")
    message = _load_from(tmp_path, name="mnist", root=str(tmp_path / "root"), download=True)
    assert message == f"data.root: {raw / 'train-images-idx3-ubyte.gz'} is not a data file: it is a FIFO (named pipe)"


def test_an_image_folder_larger_than_the_memory_is_refused_from_the_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The images' sizes come from their headers before any is decoded: a folder of photos is easily
    terabytes as float32, which would otherwise end with the OOM killer's SIGKILL."""
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (100, 50)).save(folder / f"{i}.png")
    decoded: list[int] = []
    monkeypatch.setattr(Image.Image, "convert", lambda self, *a, **k: decoded.append(1) or self)
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 100_000)
    cfg = config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"output_activation": "sigmoid"}))
    with pytest.raises(GanError, match=r"data.path: the 3 images in .*images \(45,000 values\): needs about 450.0 KB of memory and 100.0 KB is available"):
        data.load(cfg)
    assert decoded == []
