"""The feature network of an image dataset: the reference one shipped with gan-cli
(feature_reference; eval.features.network: reference, the default where one is shipped), or the
locally trained one (eval.features.network: local), cached at DATA_ROOT/gan-cli-features/<name>.pt, or, where
data.root may not be written (a shared, read-only dataset folder), the user's cache:
$GAN_CLI_CACHE, else $XDG_CACHE_HOME/gan-cli, else ~/.cache/gan-cli, under gan-cli-features/ and a
folder named for the data folder (its name and a hash of its absolute path).

The file holds the classifier's weights, its test accuracy, the training class histogram, and the
sha256 of its weights and of the training images and labels it saw. Loading recomputes both
hashes and refuses a file whose weights or data differ: two FIDs compare only when their hashes
match. `gan eval features --data CONFIG` trains it; `gan eval` trains it on first use.

The calibration ("real vs real") compares the held-out split with images the network did not
train on: the other held-out split (validation when the held-out split is test), see feature_calibration.unseen_split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich import progress
from rich.console import Console

from gan_cli import __version__, checkpoint, data
from gan_cli.config import Config
from gan_cli.errors import GanError
from gan_cli.evaluate import feature_net as fn
from gan_cli.evaluate import feature_reference

CACHE_DIR = "gan-cli-features"
FORMAT_VERSION = 1
NUM_CLASSES = 10
LABELS = {
    "mnist": "MNIST-CNN",
    "fashion-mnist": "FashionMNIST-CNN",
    "digits": "digits-CNN",
    "stacked-mnist": "MNIST-CNN x 3",
}
RETRAIN = "gan eval features --data CONFIG --force"


@dataclass
class LabelledData:
    """A dataset's splits as images in [0, 1] with their labels, and the hash of the training part."""

    name: str
    shape: tuple[int, int, int]
    train: torch.Tensor
    train_y: torch.Tensor
    test: torch.Tensor
    test_y: torch.Tensor

    def hash(self) -> str:
        return fn.data_hash(self.train, self.train_y)


@dataclass
class FeatureNet:
    """A trained classifier and its record (accuracy, hashes, how it was trained)."""

    model: fn.DigitCNN
    path: Path
    info: dict[str, Any]

    @property
    def label(self) -> str:
        return LABELS.get(self.info["data"], f"{self.info['data']}-CNN")

    @property
    def is_reference(self) -> bool:
        return self.info.get("network") == "reference"

    def describe(self) -> str:
        i = self.info
        if self.is_reference:
            return (
                f"features of {self.label}, the reference network shipped with gan-cli ({i['file']}, sha256 "
                f"{i['file_sha256'][:12]}): test accuracy {100 * i['test_accuracy']:.2f} % on {i['n_test']:,} images; "
                "numbers compare with any computed with this file (other machines, the docs), never with Inception FID"
            )
        return (
            f"features of {self.label}, trained locally ({self.path}): test accuracy {100 * i['test_accuracy']:.2f} % on "
            f"{i['n_test']:,} images, weights sha256 {i['weights_sha256'][:12]}, data sha256 {i['data_sha256'][:12]}; "
            "numbers compare only with numbers of the same hashes, never with Inception FID"
        )

    def record(self) -> dict[str, Any]:
        """What eval.json's feature_net says: which network (reference + its file's hash, or local)."""
        keys = ("data", "arch", "test_accuracy", "weights_sha256", "data_sha256", "train_range")
        out = {"network": self.info.get("network", "local"), **{k: self.info[k] for k in keys if k in self.info}}
        if self.is_reference:
            out.update(file=self.info["file"], file_sha256=self.info["file_sha256"])
        return out

    @property
    def train_class_counts(self) -> np.ndarray:
        return np.asarray(self.info["train_class_counts"], dtype=np.float64)


CACHE_ENV = "GAN_CLI_CACHE"


def user_cache_root() -> Path:
    """$GAN_CLI_CACHE, else $XDG_CACHE_HOME/gan-cli (an absolute one: the XDG spec has relative
    values ignored), else ~/.cache/gan-cli; for a process without a home directory (a container's
    user with none: HOME unset and no passwd entry) the system's temporary folder,
    gan-cli-cache-UID, where Path.home() raised a RuntimeError's traceback in every `gan eval`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()  # a ~ it cannot expand: cli.user_errors names it
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if Path(xdg).is_absolute():
        return Path(xdg) / "gan-cli"
    home = Path(os.path.expanduser("~"))
    if home.is_absolute():
        return home / ".cache" / "gan-cli"
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"gan-cli-cache-{uid}"


def _may_write(folder: Path) -> bool:
    """Whether to write under `folder`: its nearest existing ancestor is writable and has a write
    bit set (a folder without any, e.g. a dataset made read-only on purpose, is left alone even by
    root, whom the permission check alone would let through)."""
    for parent in (folder, *folder.parents):
        if parent.exists():
            return parent.is_dir() and os.access(parent, os.W_OK) and bool(parent.stat().st_mode & 0o222)
    return False


def cache_locations(cfg: Config) -> tuple[Path, Path]:
    """Beside the data (DATA_ROOT/gan-cli-features/NAME.pt), and in the user's cache. One entry per
    training data: a network trained on another data.train_range is NAME-train<a>-<b>.pt, so
    `gan eval features --force` for one range never evicts another's."""
    root = Path(cfg.data.root).expanduser().resolve()
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    span = cfg.data.train_range
    name = f"{cfg.data.name}.pt" if span is None else f"{cfg.data.name}-train{span[0]}-{span[1]}.pt"
    return root / CACHE_DIR / name, user_cache_root() / CACHE_DIR / f"{root.name or 'root'}-{key}" / name


def cache_path(cfg: Config) -> Path:
    """Where the network is (the first location holding a file), else where it is to be written:
    beside the data where that may be written, else the user's cache."""
    beside, user = cache_locations(cfg)
    for path in (beside, user):
        if path.is_file():
            return path
    return beside if _may_write(beside.parent) else user


def labelled_data(cfg: Config, ds: data.Dataset | None = None) -> LabelledData:
    """The training and test splits of cfg.data in [0, 1] (whatever G's output range) with labels."""
    if cfg.data.name not in data.LABELLED:
        raise GanError(
            f"data.name {cfg.data.name}: no feature network (one is trained for the labelled datasets: {', '.join(data.LABELLED)})"
        )
    if ds is None or ds.value_range != (0.0, 1.0):
        canonical = dataclasses.replace(cfg, generator=dataclasses.replace(cfg.generator, output_activation="sigmoid"))
        ds = data.load(canonical)
    labels = data.load_labels(cfg)
    for split in ("train", "test"):
        if len(labels[split]) != len(ds.split(split)):
            raise GanError(
                f"{cfg.data.name}: the {split} split has {len(ds.split(split)):,} images but {len(labels[split]):,} labels; check the label files under data.root"
            )
        if len(labels[split]) and (labels[split].min() < 0 or labels[split].max() >= NUM_CLASSES):
            raise GanError(f"{cfg.data.name}: {split} labels must lie in 0..{NUM_CLASSES - 1}")
    if ds.image_shape is None:
        raise GanError(f"{cfg.data.name}: not image data")
    c, h, w = ds.image_shape
    return LabelledData(
        cfg.data.name, (c, h, w), ds.train, torch.from_numpy(labels["train"]), ds.test, torch.from_numpy(labels["test"])
    )


def _progress(console: Console) -> progress.Progress:
    p = progress
    return p.Progress(
        p.TextColumn("[progress.description]{task.description}"),
        p.BarColumn(),
        p.MofNCompleteColumn(),
        p.TextColumn("loss {task.fields[loss]:.3f}"),
        p.TimeElapsedColumn(),
        p.TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def train_and_save(ld: LabelledData, path: Path, settings: fn.TrainSettings, console: Console) -> FeatureNet:
    """Train the classifier with a progress bar, measure its test accuracy, write it atomically."""
    cpu_start = time.process_time()
    if not console.is_terminal:  # no bar in a log: say what the wait is
        console.print(
            f"training the {LABELS.get(ld.name, ld.name)} feature network: {settings.steps:,} steps of {settings.batch_size} on {len(ld.train):,} images",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    with _progress(console) as bar:
        task = bar.add_task(
            f"training the {LABELS.get(ld.name, ld.name)} feature network", total=settings.steps, loss=float("nan")
        )
        model, seconds = fn.train_classifier(
            ld.train,
            ld.train_y,
            ld.shape,
            NUM_CLASSES,
            settings,
            lambda s, loss: bar.update(task, completed=s, loss=loss),
        )
    cpu_seconds = time.process_time() - cpu_start  # the training loop (and the bar), not the checks after it
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    info = {
        "format_version": FORMAT_VERSION,
        "arch": fn.ARCH,
        "data": ld.name,
        "shape": list(ld.shape),
        "classes": NUM_CLASSES,
        "test_accuracy": fn.accuracy(model, ld.test, ld.test_y) if len(ld.test) else float("nan"),
        "train_accuracy": fn.accuracy(model, ld.train[:10_000], ld.train_y[:10_000]),
        "n_train": len(ld.train),
        "n_test": len(ld.test),
        "train_class_counts": np.bincount(ld.train_y.numpy(), minlength=NUM_CLASSES).tolist(),
        "steps": settings.steps,
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "seed": settings.seed,
        "train_seconds": round(seconds, 2),
        "train_cpu_seconds": round(cpu_seconds, 2),
        "threads": torch.get_num_threads(),
        "weights_sha256": fn.weights_hash(state),
        "data_sha256": ld.hash(),
        "package_version": __version__,
        "torch_version": str(torch.__version__),
        "machine": platform.machine(),
    }
    try:
        checkpoint.atomic_save({"info": info, "state_dict": state}, path)
    except OSError as exc:
        raise GanError(
            f"cannot write the feature network to {path}: {exc.strerror or exc} (set {CACHE_ENV} to a writable folder)"
        ) from None
    return FeatureNet(model, path, {**info, "network": "local"})


def load_cached(path: Path, ld: LabelledData) -> FeatureNet:
    """The cached classifier, after checking its weights and the data it saw against their hashes."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        info, state = dict(blob["info"]), blob["state_dict"]
    except Exception as exc:  # unpickling errors come in many types
        raise GanError(
            f"{path}: not a readable feature-network file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); delete it or retrain: {RETRAIN}"
        ) from None
    if (
        info.get("format_version") != FORMAT_VERSION
        or info.get("arch") != fn.ARCH
        or tuple(info.get("shape", ())) != ld.shape
    ):
        raise GanError(
            f"{path}: written for another network or image size (arch {info.get('arch')}, shape {info.get('shape')}); retrain: {RETRAIN}"
        )
    got = fn.weights_hash(state)
    if got != info.get("weights_sha256"):
        raise GanError(
            f"{path}: its weights (sha256 {got[:12]}) do not match their recorded hash {str(info.get('weights_sha256'))[:12]}: the file was modified or damaged; retrain: {RETRAIN}"
        )
    seen = ld.hash()
    if seen != info.get("data_sha256"):
        raise GanError(
            f"{path}: the feature network was trained on other data (data sha256 {str(info.get('data_sha256'))[:12]} recorded, "
            f"{seen[:12]} now: the files under data.root or data.train_range changed); retrain: {RETRAIN}"
        )
    model = fn.DigitCNN(ld.shape, NUM_CLASSES)
    model.load_state_dict(state)
    return FeatureNet(model.eval(), path, {**info, "network": "local"})


def reference_net(cfg: Config, shape: tuple[int, ...] | None = None) -> FeatureNet:
    """The reference network shipped for cfg.data.name (its file's sha256 checked), refusing images
    of another shape than it was trained on."""
    key = feature_reference.for_data(cfg.data.name)
    if key is None:
        raise GanError(f"no reference feature network is shipped for {cfg.data.name}: set eval.features.network: local")
    model, path, info = feature_reference.load_model(key)
    if shape is not None and cfg.data.name != "stacked-mnist" and tuple(shape) != tuple(info["shape"]):
        raise GanError(
            f"{cfg.data.name} images of shape {tuple(shape)}, but the reference network reads {tuple(info['shape'])}: "
            "set eval.features.network: local"
        )
    return FeatureNet(model, path, info)


def ensure(cfg: Config, ds: data.Dataset | None, console: Console) -> FeatureNet:
    """The dataset's feature network: the shipped reference one (eval.features.network: reference,
    where one is shipped), else the cached local one, or a new one trained (once) and cached."""
    if cfg.eval.features.network == "reference":
        if feature_reference.for_data(cfg.data.name) is not None:
            return reference_net(cfg, ds.image_shape if ds is not None else None)
        console.print(
            f"eval.features.network: reference, but none is shipped for {cfg.data.name}: using a locally trained one "
            "(its FIDs compare only with FIDs of the same weights)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    ld = labelled_data(cfg, ds)
    path = cache_path(cfg)
    if path.is_file():
        return load_cached(path, ld)
    console.print(
        f"no feature network for {cfg.data.name} at {path}: training one (once; later runs reuse it)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return train_and_save(ld, path, fn.TrainSettings(steps=fn.default_steps(len(ld.train))), console)
