"""Datasets: toy targets, digits, tiny IDX files for MNIST, splits, the batch sampler."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import tiny_toy_config, write_idx

from gan_cli import config, data, toy
from gan_cli.errors import GanError


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
