"""Datasets as tensors (flattened rows), train/valid/test splits, and endless shuffled batches.

Images are scaled to the range of the generator's output: [0, 1] for sigmoid (the paper's
pixels / 255), [-1, 1] for tanh. The training set lives on the training device as one tensor and
batches are gathered by index: no per-item transforms, no DataLoader workers in the hot loop.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import toy
from gan_cli.config import TOY_DATASETS, Config, DataConfig
from gan_cli.errors import GanError

# default [start, end) ranges inside each dataset's training pool; test is official where it exists
DEFAULT_RANGES: dict[str, dict[str, list[int]]] = {
    "mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
    "fashion-mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
    "cifar10": {"train": [0, 40_000], "valid": [40_000, 50_000]},
    "digits": {"train": [0, 1_400], "valid": [1_400, 1_600], "test": [1_600, 1_797]},
    "stacked-mnist": {"train": [0, 50_000], "valid": [50_000, 60_000]},
}
POOL_FRACTIONS = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}

IDX_FILES = {
    "mnist": ("MNIST", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
    "fashion-mnist": ("FashionMNIST", "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"),
}


@dataclass
class Dataset:
    """The splits of one dataset, flattened to rows of `dim` values."""

    name: str
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    image_shape: tuple[int, ...] | None  # (C, H, W) for images, None for toy vectors
    value_range: tuple[float, float] | None  # pixel range for images
    target: toy.GaussianMixture | None  # exact p_data for toy data

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @property
    def is_image(self) -> bool:
        return self.image_shape is not None

    def split(self, name: str) -> torch.Tensor:
        if name == "train":
            return self.train
        if name == "valid":
            return self.valid
        if name == "test":
            return self.test
        raise GanError(f"unknown split {name!r}: use train, valid or test")


# ---------------------------------------------------------------- IDX files


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # gzip reports corruption as any of these
        raise GanError(f"cannot read {path}: {exc or type(exc).__name__}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise GanError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise GanError(f"{path} is truncated (header)")
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    count = math.prod(shape)  # Python ints: a hostile header cannot overflow
    if len(data) - header < count:
        raise GanError(f"{path} is truncated: expected {count} bytes of data, found {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=header).reshape(shape)


def _find_idx(root: Path, folder: str, stem: str) -> Path | None:
    for directory in (root / folder / "raw", root / folder, root):
        for suffix in ("", ".gz"):
            p = directory / (stem + suffix)
            if p.is_file():
                return p
    return None


def _load_idx_dataset(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    folder, train_stem, test_stem = IDX_FILES[cfg.name]
    root = Path(cfg.root).expanduser()
    train_p, test_p = _find_idx(root, folder, train_stem), _find_idx(root, folder, test_stem)
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
        train_p, test_p = _find_idx(root, folder, train_stem), _find_idx(root, folder, test_stem)
    if train_p is None or test_p is None:
        raise GanError(
            f"{cfg.name} files not found under data.root={cfg.root}: place {train_stem}.gz and "
            f"{test_stem}.gz (or the unpacked files) in {root / folder / 'raw'}, or set data.download: true"
        )
    train, test = read_idx(train_p), read_idx(test_p)
    if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
        raise GanError(f"{train_p} and {test_p} must hold images of one size (N, H, W)")
    _check_official(cfg.name, "train", train_p, train)
    _check_official(cfg.name, "test", test_p, test)
    return train[:, None], test[:, None]


# (images, mean pixel / 255) of the official files: the mean tells MNIST from Fashion-MNIST, whose
# files have the same names and sizes (torchvision's normalisation constants, 4 decimals)
OFFICIAL_IDX = {
    "mnist": {"train": (60_000, 0.1307), "test": (10_000, 0.1325)},
    "fashion-mnist": {"train": (60_000, 0.2860), "test": (10_000, 0.2868)},
}
MEAN_TOLERANCE = 0.003


def _check_official(name: str, split: str, path: Path, images: np.ndarray) -> None:
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


def _stack_index(n_images: int, salt: int) -> np.ndarray:
    """(n_images, 3) indexes of the MNIST images stacked as the R, G, B channels of each example:
    as many stacks as images (60,000 from the training file, 10,000 from the test file)."""
    return np.random.default_rng([STACKED_SEED, salt]).integers(0, n_images, (n_images, 3))


def _load_stacked_mnist(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stacked MNIST (VEEGAN, PacGAN): three random MNIST digits as the channels of one image, 1,000 modes."""
    import dataclasses

    train, test = _load_idx_dataset(dataclasses.replace(cfg, name="mnist"))
    return train[_stack_index(len(train), 0), 0], test[_stack_index(len(test), 1), 0]


def _load_cifar10(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
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


def _load_digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    images = load_digits().images  # (1797, 8, 8), values 0..16
    return (images / 16.0).astype(np.float32)[:, None]


def _load_npz(cfg: DataConfig) -> np.ndarray:
    """The array `x` of data.path: shape (N, ...), N > 0, real numbers, every value finite."""
    path = Path(cfg.path or "").expanduser()
    if not path.is_file():
        raise GanError(f"data.path: npz file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz.files:
                held = ", ".join(npz.files[:5]) or "no arrays"
                raise GanError(f"data.path: {path} has no array named 'x' (it holds {held}); save the data with numpy.savez(path, x=data)")
            arr = npz["x"]
    except GanError:
        raise
    except Exception as exc:  # zipfile, zlib, numpy format and OS errors all mean "not a readable npz"
        raise GanError(f"data.path: cannot read {path} as an npz file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if arr.dtype.kind not in "uif":
        raise GanError(f"data.path: array 'x' in {path} must hold real numbers, not {arr.dtype}")
    if arr.ndim < 2 or arr.shape[0] == 0 or 0 in arr.shape:
        raise GanError(f"data.path: array 'x' in {path} must have shape (N, ...) with N > 0, got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf, reported below
        out = np.asarray(arr, dtype=np.float32)
    bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise GanError(
            f"data.path: array 'x' in {path} has NaN, inf or values beyond float32 in {len(rows)} rows "
            f"(the first is row {rows[0]}); remove or replace them"
        )
    return out


def _load_folder(cfg: DataConfig) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    path = Path(cfg.path or "").expanduser()
    if not path.is_dir():
        raise GanError(f"data.path: image folder not found: {path}")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".gif"))
    if not files:
        raise GanError(f"data.path: no .png/.jpg/.bmp/.gif images in {path}")
    arrays = []
    for f in files:
        try:
            with Image.open(f) as im:
                arrays.append(np.asarray(im.convert("L" if im.mode in ("1", "L", "P") else "RGB")))
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            # PIL reports a broken file as any of these, depending on the format and where it breaks
            raise GanError(f"data.path: cannot read image {f}: {str(exc) or type(exc).__name__}") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise GanError(f"data.path: images in {path} differ in size ({sorted(shapes)[:3]}...); resize them to one size")
    stack = np.stack(arrays)
    stack = stack[:, None] if stack.ndim == 3 else stack.transpose(0, 3, 1, 2)
    return stack.astype(np.float32) / 255.0


def _take(pool: np.ndarray, rng: list[int], key: str) -> np.ndarray:
    start, end = rng
    if end > len(pool):
        raise GanError(f"data.{key}_range: [{start}, {end}) reaches past the {len(pool)} examples available")
    return pool[start:end]


def _split_pool(cfg: DataConfig, pool: np.ndarray, test: np.ndarray | None) -> dict[str, np.ndarray]:
    defaults = DEFAULT_RANGES.get(cfg.name, {})
    out = {}
    for key in ("train", "valid", "test"):
        if key == "test" and test is not None and cfg.test_range is None:
            out[key] = test
            continue
        rng = getattr(cfg, f"{key}_range") or defaults.get(key)
        if rng is None:
            lo, hi = POOL_FRACTIONS[key]
            rng = [int(lo * len(pool)), int(hi * len(pool))]
        out[key] = _take(pool, rng, key)
        if len(out[key]) == 0:
            raise GanError(f"data.{key}_range: the {key} split of {cfg.name} is empty")
    return out


def _to_float(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.array(images))  # a writable copy (IDX arrays are read-only buffers)
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x.float()


IMAGE_DIMS = {"mnist": 784, "fashion-mnist": 784, "stacked-mnist": 3 * 784, "cifar10": 3 * 32 * 32, "digits": 64}


def known_dim(cfg: Config) -> int | None:
    """Values per example, known from the config alone (None for npz and folder data, known once loaded)."""
    d = cfg.data
    if d.name in TOY_DATASETS:
        return int(toy.from_config(d).means.shape[1])
    return IMAGE_DIMS.get(d.name)


def load(cfg: Config) -> Dataset:
    """Load the dataset named by cfg.data (on the CPU); raise GanError naming what to fix."""
    d = cfg.data
    if d.name in TOY_DATASETS:
        target = toy.from_config(d)
        gens = [torch.Generator().manual_seed(cfg.seed * 3 + i) for i in range(3)]
        return Dataset(
            d.name,
            train=target.sample(d.num_samples, gens[0]),
            valid=target.sample(d.eval_samples, gens[1]),
            test=target.sample(d.eval_samples, gens[2]),
            image_shape=None,
            value_range=None,
            target=target,
        )
    if d.name in IDX_FILES:
        pool, test = _load_idx_dataset(d)
    elif d.name == "stacked-mnist":
        pool, test = _load_stacked_mnist(d)
    elif d.name == "cifar10":
        pool, test = _load_cifar10(d)
    elif d.name == "digits":
        pool, test = _load_digits(), None
    elif d.name == "npz":
        pool, test = _load_npz(d), None
    elif d.name == "folder":
        pool, test = _load_folder(d), None
    else:  # pragma: no cover - the config's Literal rules this out
        raise GanError(f"data.name: unknown dataset {d.name!r}")
    splits = {k: _to_float(v) for k, v in _split_pool(d, pool, test).items()}
    shape = tuple(splits["train"].shape[1:])
    low, high = (0.0, 1.0)
    if cfg.generator.output_activation == "tanh":
        splits = {k: v * 2.0 - 1.0 for k, v in splits.items()}
        low, high = -1.0, 1.0
    flat = {k: v.reshape(len(v), -1).contiguous() for k, v in splits.items()}
    return Dataset(d.name, flat["train"], flat["valid"], flat["test"], shape if len(shape) == 3 else None, (low, high), None)


# ---------------------------------------------------------------- labels

LABEL_STEMS = ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte")
LABELLED = ("mnist", "fashion-mnist", "digits")


def has_labels(cfg: Config) -> bool:
    """Whether load_labels(cfg) finds its labels (both IDX label files, for the IDX datasets)."""
    d = cfg.data
    if d.name in IDX_FILES or d.name == "stacked-mnist":
        folder, root = IDX_FILES.get(d.name, IDX_FILES["mnist"])[0], Path(d.root).expanduser()
        return all(_find_idx(root, folder, stem) is not None for stem in LABEL_STEMS)
    return d.name == "digits"


def load_labels(cfg: Config) -> dict[str, np.ndarray]:
    """Class labels (int64) aligned with load(cfg)'s train, valid and test splits: the IDX
    *-labels-idx1-ubyte files beside mnist's and fashion-mnist's images, load_digits' targets."""
    d = cfg.data
    if d.name in IDX_FILES or d.name == "stacked-mnist":
        folder, root = IDX_FILES.get(d.name, IDX_FILES["mnist"])[0], Path(d.root).expanduser()
        paths = [_find_idx(root, folder, stem) for stem in LABEL_STEMS]
        if paths[0] is None or paths[1] is None:
            raise GanError(
                f"{d.name} label files not found under data.root={d.root}: place {LABEL_STEMS[0]}.gz and "
                f"{LABEL_STEMS[1]}.gz (or the unpacked files) beside the images in {root / folder / 'raw'}"
            )
        pool, test = read_idx(paths[0]), read_idx(paths[1])
        if pool.ndim != 1 or test.ndim != 1:
            raise GanError(f"{paths[0]} and {paths[1]} must hold one label per image (shape (N,))")
        if d.name == "stacked-mnist":  # mode = 100 a + 10 b + c of the digits in the R, G, B channels
            pool, test = (lab.astype(np.int64)[_stack_index(len(lab), salt)] @ np.array([100, 10, 1]) for salt, lab in enumerate((pool, test)))
    elif d.name == "digits":
        from sklearn.datasets import load_digits

        pool, test = load_digits().target, None
    else:
        raise GanError(f"data.name {d.name}: has no class labels (labelled datasets: {', '.join(LABELLED)})")
    return {k: v.astype(np.int64) for k, v in _split_pool(d, pool, test).items()}


# ---------------------------------------------------------------- batches


class EpochSampler:
    """Endless minibatch indexes: a fresh permutation each epoch, last partial batch dropped.

    The permutation comes from its own CPU generator so the data order is independent of the
    model's random numbers and can be saved and restored exactly (see `state_dict`).
    """

    def __init__(self, num_examples: int, batch_size: int, seed: int, device: torch.device) -> None:
        if batch_size > num_examples:
            raise GanError(f"train.batch_size: {batch_size} is larger than the {num_examples} training examples")
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        self.batches_per_epoch = num_examples // batch_size
        self.epoch = 0  # completed epochs
        self.position = 0  # batches served in the current epoch
        self.restarted = False  # set by load_state_dict when the saved order was cut in another batch size
        self._perm = self._new_permutation()

    def _new_permutation(self) -> torch.Tensor:
        perm = torch.randperm(self.num_examples, generator=self.generator)
        return perm[: self.batches_per_epoch * self.batch_size].view(self.batches_per_epoch, self.batch_size).to(self.device)

    def next(self) -> torch.Tensor:
        if self.position == self.batches_per_epoch:
            self.epoch += 1
            self.position = 0
            self._perm = self._new_permutation()
        idx = self._perm[self.position]
        self.position += 1
        return idx

    @property
    def fractional_epoch(self) -> float:
        return self.epoch + self.position / self.batches_per_epoch

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "permutation": self._perm.cpu(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the saved order; one cut into batches of another size (a run of another number of
        processes) ends the epoch in progress, and the next starts afresh (`restarted` says so)."""
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._perm = state["permutation"].to(self.device)
        self.generator.set_state(state["generator"])
        self.restarted = tuple(self._perm.shape) != (self.batches_per_epoch, self.batch_size)
        if self.restarted:
            if self.position == 0:  # nothing of this epoch served yet: draw its order in the new size
                self._perm = self._new_permutation()
            else:  # next() starts the next epoch, with a permutation from the restored generator
                self._perm, self.position = self._perm.new_zeros(self.batches_per_epoch, self.batch_size), self.batches_per_epoch


def output_bias_from_marginals(train: torch.Tensor) -> torch.Tensor:
    """logit(clip(mean training pixel, 1e-7, 1 - 1e-7)), the paper's init_bias_from_marginals."""
    p = train.double().mean(dim=0).clamp(1e-7, 1 - 1e-7)
    return torch.log(p / (1 - p)).float()
