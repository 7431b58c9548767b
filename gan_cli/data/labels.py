"""Class labels aligned with the splits of `load`, for the label-based metrics (mode counts, FID's classifier)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_cli.config import Config, DataConfig
from gan_cli.data.idx import IDX_FILES, find_idx, read_idx, stack_index
from gan_cli.data.splits import split_pool
from gan_cli.errors import GanError

LABEL_STEMS = ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte")
LABELLED = ("mnist", "fashion-mnist", "digits")


def _label_files(d: DataConfig) -> tuple[Path, list[Path | None]]:
    """(the folder to name when they are missing, the train and test label files or None): the IDX
    label files beside the images (stacked-mnist reads mnist's)."""
    folder, root = IDX_FILES.get(d.name, IDX_FILES["mnist"])[0], Path(d.root).expanduser()
    return root / folder / "raw", [find_idx(root, folder, stem) for stem in LABEL_STEMS]


def has_labels(cfg: Config) -> bool:
    """Whether load_labels(cfg) finds its labels (both IDX label files, for the IDX datasets)."""
    d = cfg.data
    if d.name in IDX_FILES or d.name == "stacked-mnist":
        return all(p is not None for p in _label_files(d)[1])
    return d.name == "digits"


def load_labels(cfg: Config) -> dict[str, np.ndarray]:
    """Class labels (int64) aligned with load(cfg)'s train, valid and test splits: the IDX
    *-labels-idx1-ubyte files beside mnist's and fashion-mnist's images, load_digits' targets."""
    d = cfg.data
    if d.name in IDX_FILES or d.name == "stacked-mnist":
        where, paths = _label_files(d)
        if paths[0] is None or paths[1] is None:
            raise GanError(
                f"{d.name} label files not found under data.root={d.root}: place {LABEL_STEMS[0]}.gz and "
                f"{LABEL_STEMS[1]}.gz (or the unpacked files) beside the images in {where}"
            )
        pool, test = read_idx(paths[0]), read_idx(paths[1])
        if pool.ndim != 1 or test.ndim != 1:
            raise GanError(f"{paths[0]} and {paths[1]} must hold one label per image (shape (N,))")
        if d.name == "stacked-mnist":  # mode = 100 a + 10 b + c of the digits in the R, G, B channels
            pool, test = (
                lab.astype(np.int64)[stack_index(len(lab), salt)] @ np.array([100, 10, 1])
                for salt, lab in enumerate((pool, test))
            )
    elif d.name == "digits":
        from sklearn.datasets import load_digits

        pool, test = load_digits().target, None
    else:
        raise GanError(f"data.name {d.name}: has no class labels (labelled datasets: {', '.join(LABELLED)})")
    return {k: v.astype(np.int64) for k, v in split_pool(d, pool, test).items()}
