"""MNIST and Fashion-MNIST from their IDX files (gzipped or not), checked against the official
files, and Stacked MNIST built from them."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from gan_cli.config import DataConfig
from gan_cli.devices import check_host_memory
from gan_cli.errors import GanError
from gan_cli.file_kinds import MISSING, input_problem

IDX_FILES = {
    "mnist": ("MNIST", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
    "fashion-mnist": ("FashionMNIST", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array of its declared shape. The header is
    read first and the declared size checked against the memory available, then only that many
    bytes are read: a gzipped file of a few megabytes can unpack to gigabytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            magic = fh.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
                raise GanError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
            ndim = magic[3]
            dims = fh.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise GanError(f"{path} is truncated (header)")
            shape = struct.unpack(">" + "I" * ndim, dims)
            count = math.prod(shape)  # Python ints: a hostile header cannot overflow
            stored = None if path.suffix == ".gz" else path.stat().st_size - 4 - 4 * ndim
            if stored is not None and stored < count:
                raise GanError(f"{path} is truncated: expected {count} bytes of data, found {stored}")
            # the uint8 values, then float32 copies of them: 5 bytes a value
            check_host_memory(5 * count, f"{path}: its header declares {count:,} values")
            data = fh.read(count)
    except (OSError, EOFError, zlib.error) as exc:  # gzip reports corruption as any of these
        raise GanError(f"cannot read {path}: {exc or type(exc).__name__}") from None
    if len(data) < count:
        raise GanError(f"{path} is truncated: expected {count} bytes of data, found {len(data)}")
    try:
        return np.frombuffer(data, dtype=np.uint8, count=count).reshape(shape)
    except ValueError:  # a zero dimension beside others whose product no array index can hold
        raise GanError(f"{path}: its header declares the shape {shape}, which no array can have") from None


def find_idx(root: Path, folder: str, stem: str) -> Path | None:
    """The first of STEM and STEM.gz in root/FOLDER/raw, root/FOLDER, root; None when none is there.
    An entry of that name that is not a regular file (a FIFO, whose read would wait forever; a
    device; a dangling link) is named, not taken for a missing file and downloaded over."""
    for directory in (root / folder / "raw", root / folder, root):
        for suffix in ("", ".gz"):
            p = directory / (stem + suffix)
            problem = input_problem(p)
            if problem is None:
                return p
            if problem != MISSING:
                raise GanError(f"data.root: {p} is not a data file: {problem}")
    return None


def load_idx_dataset(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    folder, train_stem, test_stem = IDX_FILES[cfg.name]
    root = Path(cfg.root).expanduser()
    train_p, test_p = find_idx(root, folder, train_stem), find_idx(root, folder, test_stem)
    if (train_p is None or test_p is None) and cfg.download:
        import torchvision

        cls = torchvision.datasets.MNIST if cfg.name == "mnist" else torchvision.datasets.FashionMNIST
        try:
            cls(str(root), train=True, download=True)
        except Exception as exc:  # network errors come in many types
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise GanError(
                f"downloading {cfg.name} into data.root={cfg.root} failed ({first}); without a network, place "
                f"{train_stem}.gz and {test_stem}.gz (or the unpacked files) in {root / folder / 'raw'}"
            ) from None
        train_p, test_p = find_idx(root, folder, train_stem), find_idx(root, folder, test_stem)
    if train_p is None or test_p is None:
        raise GanError(
            f"{cfg.name} files not found under data.root={cfg.root}: place {train_stem}.gz and "
            f"{test_stem}.gz (or the unpacked files) in {root / folder / 'raw'}, or set data.download: true"
        )
    train, test = read_idx(train_p), read_idx(test_p)
    if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
        raise GanError(f"{train_p} and {test_p} must hold images of one size (N, H, W)")
    check_official(cfg.name, "train", train_p, train)
    check_official(cfg.name, "test", test_p, test)
    return train[:, None], test[:, None]


# (images, mean pixel / 255) of the official files: the mean tells MNIST from Fashion-MNIST, whose
# files have the same names and sizes (torchvision's normalisation constants, 4 decimals)
OFFICIAL_IDX = {
    "mnist": {"train": (60_000, 0.1307), "test": (10_000, 0.1325)},
    "fashion-mnist": {"train": (60_000, 0.2860), "test": (10_000, 0.2868)},
}
MEAN_TOLERANCE = 0.003


def check_official(name: str, split: str, path: Path, images: np.ndarray) -> None:
    """Refuse another dataset's file under this dataset's name. Files of another size than the
    official one are a user's own subset or variant and load as given."""
    count, mean = OFFICIAL_IDX[name][split]
    if len(images) != count or images.shape[1:] != (28, 28):
        return
    seen = float(images.mean(dtype=np.float64)) / 255.0
    if abs(seen - mean) <= MEAN_TOLERANCE:
        return
    other = next((o for o, s in OFFICIAL_IDX.items() if o != name and abs(seen - s[split][1]) <= MEAN_TOLERANCE), None)
    what = f"it looks like {other}'s {split} file" if other else "it matches no official file"
    raise GanError(
        f"{path}: not the official {name} {split} images (mean pixel {seen:.4f}, expected {mean:.4f}): {what}; "
        f"put the {name} files under data.root, or set data.name to the dataset they hold"
    )


STACKED_SEED = 0  # fixed, not the run's seed: every stacked-mnist run sees the same stacks


def stack_index(n_images: int, salt: int) -> np.ndarray:
    """(n_images, 3) indexes of the MNIST images stacked as the R, G, B channels of each example:
    as many stacks as images (60,000 from the training file, 10,000 from the test file)."""
    return np.random.default_rng([STACKED_SEED, salt]).integers(0, n_images, (n_images, 3))


def load_stacked_mnist(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stacked MNIST (VEEGAN, PacGAN): three random MNIST digits as the channels of one image, 1,000 modes."""
    import dataclasses

    train, test = load_idx_dataset(dataclasses.replace(cfg, name="mnist"))
    return train[stack_index(len(train), 0), 0], test[stack_index(len(test), 1), 0]
