"""The other image sources: CIFAR-10 (torchvision), scikit-learn's 8x8 digits, a user's npz array
and a user's folder of images. Each returns uint8 or float32 arrays shaped (N, C, H, W) or (N, ...);
the user's sources also return their class labels where they have them (None where not): an npz
array `y`, or the sub-folder of each image (docs/own_data.md)."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from gan_cli.config import DataConfig
from gan_cli.data import image_files
from gan_cli.devices import check_host_memory
from gan_cli.errors import GanError
from gan_cli.file_kinds import MISSING, input_problem


def load_cifar10(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    import torchvision

    root = Path(cfg.root).expanduser()
    try:
        train = torchvision.datasets.CIFAR10(str(root), train=True, download=cfg.download)
        test = torchvision.datasets.CIFAR10(str(root), train=False, download=cfg.download)
    except RuntimeError:
        raise GanError(
            f"cifar10 files not found under data.root={cfg.root}: unpack cifar-10-python.tar.gz so that "
            f"{root / 'cifar-10-batches-py'} exists, or set data.download: true"
        ) from None
    except Exception as exc:
        raise GanError(f"cannot load cifar10 from {root}: {exc}") from None
    return train.data.transpose(0, 3, 1, 2), test.data.transpose(0, 3, 1, 2)


def load_digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    images = load_digits().images  # (1797, 8, 8), values 0..16
    return (images / 16.0).astype(np.float32)[:, None]


def _check_expanded_size(path: Path, archive: zipfile.ZipFile) -> None:
    """GanError when array `x`, read and made float32, needs more memory than the machine has now:
    its header gives its shape before a byte of it is read, where a compressed file of a few
    kilobytes can hold gigabytes of zeros (an allocation that large ends with the OOM killer's
    SIGKILL, no message)."""
    with archive.open("x.npy") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fh)
    count = math.prod(shape)
    check_host_memory(
        count * (dtype.itemsize + 4), f"data.path: array 'x' in {path} ({count:,} values) read as float32"
    )


def load_npz(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The array `x` of data.path: shape (N, ...), N > 0, real numbers, every value finite; and its
    labels `y` (N integers) where the file has them."""
    path = Path(cfg.path or "").expanduser()
    problem = input_problem(path)
    if problem == MISSING:
        raise GanError(f"data.path: npz file not found: {path}")
    if problem is not None:
        raise GanError(f"data.path: {path} is not an npz file: {problem}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz.files:
                held = ", ".join(npz.files[:5]) or "no arrays"
                raise GanError(
                    f"data.path: {path} has no array named 'x' (it holds {held}); save the data with numpy.savez(path, x=data)"
                )
            _check_expanded_size(path, npz.zip)
            arr = npz["x"]
            labels = npz["y"] if "y" in npz.files else None
    except GanError:
        raise
    except Exception as exc:  # zipfile, zlib, numpy format and OS errors all mean "not a readable npz"
        raise GanError(
            f"data.path: cannot read {path} as an npz file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    if arr.dtype.kind not in "uif":
        raise GanError(f"data.path: array 'x' in {path} must hold real numbers, not {arr.dtype}")
    if arr.ndim < 2 or arr.shape[0] == 0 or 0 in arr.shape:
        raise GanError(f"data.path: array 'x' in {path} must have shape (N, ...) with N > 0, got {arr.shape}")
    if labels is not None and (labels.dtype.kind not in "iub" or labels.shape != (len(arr),)):
        raise GanError(
            f"data.path: array 'y' in {path} must hold one integer label per row of 'x' (shape ({len(arr)},)), "
            f"got {labels.dtype} {labels.shape}; or leave 'y' out"
        )
    labels = None if labels is None else labels.astype(np.int64)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, labels
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf, reported below
        out = np.asarray(arr, dtype=np.float32)
    bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise GanError(
            f"data.path: array 'x' in {path} has NaN, inf or values beyond float32 in {len(rows)} rows "
            f"(the first is row {rows[0]}); remove or replace them"
        )
    return out, labels


def load_folder(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The images under data.path (sub-folders included, in sorted path order) as (N, C, H, W) in
    [0, 1], each at its own bit depth (gan_cli.data.image_files): C = 1 when every file is grey,
    else 3. When every image lies in a sub-folder, its top sub-folder is its class: labels 0.. in
    sorted name order. Every file's header is read, and the sizes and memory checked, before any
    pixel is decoded."""
    path = Path(cfg.path or "").expanduser()
    if not path.is_dir():
        raise GanError(f"data.path: image folder not found: {path}")
    # regular files only: a FIFO named x.png would block the read forever
    files = sorted(
        p for p in path.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".gif") and p.is_file()
    )
    if not files:
        raise GanError(f"data.path: no .png/.jpg/.bmp/.gif images in {path}")
    headers = [image_files.header(f) for f in files]
    sizes = {(h.width, h.height): f for h, f in zip(headers, files, strict=True)}
    if len(sizes) > 1:
        examples = ", ".join(f"{f.relative_to(path)} {w}x{h}" for (w, h), f in sorted(sizes.items())[:3])
        raise GanError(f"data.path: images in {path} differ in size ({examples}); resize them to one width and height")
    channels = max(h.channels for h in headers)
    width, height = next(iter(sizes))
    values = len(files) * width * height * channels
    # each image as float32, then their stack: 8 bytes a value, 10 with room for a file's decoding
    check_host_memory(10 * values, f"data.path: the {len(files):,} images in {path} ({values:,} values)")
    stack = np.stack([image_files.pixels(f, channels) for f in files])
    stack = stack[:, None] if stack.ndim == 3 else stack.transpose(0, 3, 1, 2)
    classes = [f.relative_to(path).parts[0] if len(f.relative_to(path).parts) > 1 else None for f in files]
    labels = None
    if all(c is not None for c in classes):
        index = {name: i for i, name in enumerate(sorted({c for c in classes if c is not None}))}
        labels = np.array([index[c] for c in classes if c is not None], dtype=np.int64)
    return stack, labels
