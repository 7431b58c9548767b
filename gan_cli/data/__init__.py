"""Datasets as tensors (flattened rows), train/valid/test splits, and endless shuffled batches.

Images are scaled to the range of the generator's output: [0, 1] for sigmoid (the paper's
pixels / 255), [-1, 1] for tanh. The training set lives on the training device as one tensor and
batches are gathered by index: no per-item transforms, no DataLoader workers in the hot loop.

Modules: `idx` (MNIST-family files), `sources` (CIFAR-10, digits, npz, image folders), `image_files`
(one image file's pixels at its bit depth and colour), `splits`,
`loading` (`load`), `labels`, `sampler` (`EpochSampler`), `dataset` (`Dataset`), `fingerprint`
(what a checkpoint records of the data it trained on).
"""

from gan_cli.data.dataset import Dataset, output_bias_from_marginals
from gan_cli.data.idx import IDX_FILES, read_idx
from gan_cli.data.labels import LABEL_STEMS, LABELLED, has_labels, load_labels
from gan_cli.data.loading import IMAGE_DIMS, known_dim, load
from gan_cli.data.sampler import EpochSampler
from gan_cli.data.splits import DEFAULT_RANGES

__all__ = [
    "DEFAULT_RANGES",
    "IDX_FILES",
    "IMAGE_DIMS",
    "LABELLED",
    "LABEL_STEMS",
    "Dataset",
    "EpochSampler",
    "has_labels",
    "known_dim",
    "load",
    "load_labels",
    "output_bias_from_marginals",
    "read_idx",
]
