"""The feature network: labels loaded beside the images, the classifier trained on tiny IDX files by
`gan eval features`, its cache and the hashes that make it refuse other data or changed weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import write_idx
from typer.testing import CliRunner

from gan_cli import config, data
from gan_cli.cli import app
from gan_cli.evaluate.metric_names import METRIC_NAMES
from gan_cli.errors import GanError
from gan_cli.evaluate import feature_cache as fc
from gan_cli.evaluate import feature_net as fn

runner = CliRunner()


def gan(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def bars(labels: np.ndarray, seed: int) -> np.ndarray:
    """28x28 images whose class k is a bright 4x4 square in cell k of a 2 x 5 grid, jittered by a
    pixel, on noise: learnable in a few dozen steps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (len(labels), 28, 28))
    for i, k in enumerate(labels):
        r, c = 4 + 12 * (k // 5) + rng.integers(0, 2), 1 + 5 * (k % 5) + rng.integers(0, 2)
        x[i, r : r + 4, c : c + 4] = 255
    return x


def write_mnist(root: Path, n_train: int = 300, n_test: int = 60, labels: bool = True) -> Path:
    raw = root / "MNIST" / "raw"
    ytr, yte = np.arange(n_train) % 10, np.arange(n_test) % 10
    write_idx(raw / "train-images-idx3-ubyte", bars(ytr, 0), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte", bars(yte, 1), gz=True)
    if labels:
        write_idx(raw / "train-labels-idx1-ubyte", ytr, gz=True)
        write_idx(raw / "t10k-labels-idx1-ubyte", yte, gz=True)
    return root


def mnist_config(tmp_path: Path, root: Path, **data_keys: object) -> Path:
    raw = {"data": {"name": "mnist", "root": str(root), "train_range": [0, 250], "valid_range": [250, 300], **data_keys}, "train": {"steps": 1}}
    path = tmp_path / "mnist.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_labels_line_up_with_the_image_splits(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d")
    cfg = config.load(mnist_config(tmp_path, root))
    ds, labels = data.load(cfg), data.load_labels(cfg)
    assert {k: len(v) for k, v in labels.items()} == {"train": 250, "valid": 50, "test": 60}
    assert labels["train"].dtype == np.int64 and labels["valid"][0] == 250 % 10 and labels["test"][:3].tolist() == [0, 1, 2]
    assert len(ds.train) == 250, "load() itself is unchanged"
    digits = data.load_labels(config.from_dict({"data": {"name": "digits"}, "train": {"steps": 1}}))
    assert [len(digits[k]) for k in ("train", "valid", "test")] == [1400, 200, 197] and set(digits["train"].tolist()) == set(range(10))


def test_missing_labels_and_unlabelled_data_are_one_clear_error(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d", labels=False)
    one_line_error(gan("eval", "features", "--data", mnist_config(tmp_path, root)), "train-labels-idx1-ubyte", "data.root")
    ring = tmp_path / "ring.yaml"
    ring.write_text(yaml.safe_dump({"data": {"name": "ring"}, "train": {"steps": 1}}))
    one_line_error(gan("eval", "features", "--data", ring), "no feature network", "mnist")


def test_shift_moves_each_image_within_the_limit() -> None:
    x = torch.zeros(50, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0
    out = fn.shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.all(out.sum((1, 2, 3)) == 1)
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 9, where % 9
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 5, "shifts differ between images"


def test_train_then_reuse_then_refuse_other_data(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d")
    cfg_path = mnist_config(tmp_path, root)
    result = gan("eval", "features", "--data", cfg_path, "--steps", "40")
    assert result.exit_code == 0, result.output
    cache = fc.cache_path(config.load(cfg_path))
    assert cache == root / "gan-cli-features" / "mnist-train0-250.pt", "one entry per training range"
    assert cache.is_file() and "test accuracy" in result.output and "sha256" in result.output
    blob = torch.load(cache, weights_only=True)
    info = blob["info"]
    assert info["test_accuracy"] >= 0.9, info
    assert info["n_train"] == 250 and info["steps"] == 40 and info["train_class_counts"] == [25] * 10
    assert info["weights_sha256"] == fn.weights_hash(blob["state_dict"])

    again = gan("eval", "features", "--data", cfg_path)
    assert again.exit_code == 0 and "already trained" in again.output and info["weights_sha256"][:12] in again.output

    # the same files, another training split: an entry of its own; the first one is kept
    other = mnist_config(tmp_path, root, train_range=[0, 240])
    assert gan("eval", "features", "--data", other, "--force", "--steps", "5").exit_code == 0
    assert fc.cache_path(config.load(other)).is_file() and cache.is_file()
    assert torch.load(cache, weights_only=True)["info"]["weights_sha256"] == info["weights_sha256"]

    # a cache entry whose data no longer matches (the files changed under it) is refused
    fc.cache_path(config.load(other)).write_bytes(cache.read_bytes())
    one_line_error(gan("eval", "features", "--data", other), "trained on other data", "--force")



def test_a_read_only_data_folder_keeps_its_files_and_the_network_goes_to_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared dataset folders are often read-only: nothing is written there (root included, whom the
    permission check alone would let through), and the network is cached per user instead."""
    root = write_mnist(tmp_path / "d")
    cfg_path = mnist_config(tmp_path, root)
    monkeypatch.setenv(fc.CACHE_ENV, str(tmp_path / "cache"))
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        before = sorted(p.name for p in root.rglob("*"))
        result = gan("eval", "features", "--data", cfg_path, "--steps", "5")
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in root.rglob("*")) == before, "nothing written under data.root"
        cached = list((tmp_path / "cache" / fc.CACHE_DIR).rglob("mnist*.pt"))
        assert len(cached) == 1 and cached[0].parent.name.startswith("d-")
        again = gan("eval", "features", "--data", cfg_path)
        assert again.exit_code == 0 and "already trained" in again.output, "found again in the user cache"
    finally:
        for folder in folders:
            folder.chmod(0o755)
    # a writable folder keeps its network beside the data, as before
    beside, _ = fc.cache_locations(config.load(mnist_config(tmp_path, write_mnist(tmp_path / "w"))))
    assert fc.cache_path(config.load(mnist_config(tmp_path, tmp_path / "w"))) == beside

def test_the_cache_refuses_changed_weights_and_unreadable_files(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d")
    cfg = config.load(mnist_config(tmp_path, root))
    ld = fc.labelled_data(cfg)
    net = fc.train_and_save(ld, fc.cache_path(cfg), fn.TrainSettings(steps=3), fc.Console(quiet=True))
    assert fc.load_cached(net.path, ld).info["weights_sha256"] == net.info["weights_sha256"]
    blob = torch.load(net.path, weights_only=True)
    blob["state_dict"]["head.bias"] += 0.01
    torch.save(blob, net.path)
    with pytest.raises(GanError, match="do not match their recorded hash"):
        fc.load_cached(net.path, ld)
    net.path.write_bytes(b"not a torch file")
    with pytest.raises(GanError, match="not a readable feature-network file"):
        fc.ensure(config.load(mnist_config(tmp_path, root), ["eval.features.network=local"]), None, fc.Console(quiet=True))


def test_the_data_hash_does_not_depend_on_the_generators_output_range() -> None:
    base = {"data": {"name": "digits"}, "train": {"steps": 1}}
    sig = config.from_dict({**base, "generator": {"output_activation": "sigmoid"}})
    tanh = config.from_dict({**base, "generator": {"output_activation": "tanh"}})
    ds_tanh = data.load(tanh)
    assert ds_tanh.value_range == (-1.0, 1.0)
    a, b = fc.labelled_data(sig), fc.labelled_data(tanh, ds_tanh)
    assert a.hash() == b.hash() and float(b.train.min()) >= 0.0


def test_features_and_labels_of_a_net() -> None:
    model = fn.DigitCNN((1, 8, 8)).eval()
    x = torch.rand(7, 64, generator=torch.Generator().manual_seed(0))
    feats, labels = fn.extract(model, x, batch=3)
    assert feats.shape == (7, fn.FEATURE_DIM) and feats.dtype == torch.float64 and bool((feats >= 0).all()), "post-ReLU features"
    with torch.no_grad():
        assert torch.equal(labels, model(x).argmax(1))
        assert torch.allclose(feats, model.features(x.reshape(7, 1, 8, 8)).double(), atol=1e-6)


def stacked_config(tmp_path: Path, root: Path) -> Path:
    raw = {"data": {"name": "stacked-mnist", "root": str(root), "train_range": [0, 250], "valid_range": [250, 300]}, "train": {"steps": 1}}
    path = tmp_path / "stacked.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_stacked_mnist_stacks_three_digits_and_labels_them_100a_10b_c(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d")
    cfg = config.load(stacked_config(tmp_path, root))
    plain = data.load(config.from_dict({"data": {"name": "mnist", "root": str(root), "train_range": [0, 300], "valid_range": [0, 1]}, "train": {"steps": 1}}))
    ds, labels = data.load(cfg), data.load_labels(cfg)
    assert ds.image_shape == (3, 28, 28) and ds.train.shape == (250, 3 * 784) and ds.test.shape == (60, 3 * 784)
    mnist_labels = np.arange(300) % 10
    for i in (0, 7, 249):
        channels = ds.train[i].reshape(3, 784)
        idx = [int((plain.train - c).abs().sum(1).argmin()) for c in channels]  # which MNIST image each channel is
        assert all(torch.equal(plain.train[j], c) for j, c in zip(idx, channels))
        a, b, c = (mnist_labels[j] for j in idx)
        assert labels["train"][i] == 100 * a + 10 * b + c
    assert torch.equal(data.load(cfg).train, ds.train), "the stacks are a fixed draw"


def test_stacked_head_scores_the_triple_of_channel_labels() -> None:
    from gan_cli.evaluate.stacked import MODES, StackedCNN, mode_metrics

    mnist = fn.DigitCNN((1, 28, 28)).eval()
    x = torch.rand(5, 3 * 784, generator=torch.Generator().manual_seed(0))
    feats, modes = fn.extract(StackedCNN(mnist), x)
    with torch.no_grad():
        per_channel = [mnist(x.reshape(5, 3, 784)[:, i]).argmax(1) for i in range(3)]
    assert feats.shape == (5, 3 * fn.FEATURE_DIM)
    assert torch.equal(modes, 100 * per_channel[0] + 10 * per_channel[1] + per_channel[2])
    one = mode_metrics(torch.full((260,), 123))
    assert one["covered"] == 1 and one["kl"] == pytest.approx(math.log(MODES))
    every = mode_metrics(torch.arange(26_000) % MODES)
    assert every["covered"] == MODES and every["kl"] == pytest.approx(0.0, abs=1e-12)


def test_gan_eval_on_stacked_mnist_reports_modes_beside_real_stacks(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d")
    assert gan("eval", "features", "--data", mnist_config(tmp_path, root), "--steps", "40").exit_code == 0  # the MNIST network
    raw = yaml.safe_load(stacked_config(tmp_path, root).read_text())
    raw.update({
        "seed": 0, "device": "cpu", "noise": {"dim": 4}, "generator": {"hidden": [{"units": 8}], "output_activation": "sigmoid"},
        "discriminator": {"hidden": [{"units": 8}]}, "train": {"batch_size": 25, "steps": 4},
        "log": {"every": 4, "samples_every": 4, "checkpoint_every": 4, "keep": 1, "picture_samples": 4},
        "eval": {"generated_samples": 60, "critic": {"steps": 10, "seeds": 1, "check_every": 5}, "memorisation": {"samples": 20}, "parzen": {"valid_examples": 20}, "features": {"fid_bootstrap": 3}, "stacked": {"generated_samples": 200}},
    })
    cfg = tmp_path / "stacked_run.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    result = gan("eval", "--ckpt", tmp_path / "run", "--num-samples", "60")
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "run" / "eval.json").read_text())["metrics"]
    assert m["modes_captured"]["n"] == 200 and m["modes_captured"]["num_modes"] == 1000 and 1 <= m["modes_captured"]["value"] <= 200
    assert m["reverse_kl"]["calibration"]["n"] == 200 and m["reverse_kl"]["calibration"]["value"] < m["reverse_kl"]["value"]
    assert m["fid"]["n"] == [60, 60] and "MNIST-CNN x 3" in m["fid"]["label"]
    assert "classes_covered" not in m and "modes_captured" in result.output
    assert set(m) <= set(METRIC_NAMES), "a metric gan sweep would refuse by name"


def test_gan_eval_without_label_files_skips_the_feature_metrics_with_one_line(tmp_path: Path) -> None:
    root = write_mnist(tmp_path / "d", labels=False)
    raw = yaml.safe_load(mnist_config(tmp_path, root).read_text())
    raw.update({
        "seed": 0, "device": "cpu", "noise": {"dim": 4}, "generator": {"hidden": [{"units": 8}], "output_activation": "sigmoid"},
        "discriminator": {"hidden": [{"units": 8}]}, "train": {"batch_size": 25, "steps": 4},
        "log": {"every": 4, "samples_every": 4, "checkpoint_every": 4, "keep": 1, "picture_samples": 4},
        "eval": {"generated_samples": 40, "critic": {"steps": 10, "seeds": 1, "check_every": 5}, "memorisation": {"samples": 20}, "parzen": {"valid_examples": 20}},
    })
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    result = gan("eval", "--ckpt", tmp_path / "run")
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "run" / "eval.json").read_text())["metrics"]
    assert "parzen_ll" in m and "fid" not in m
    notes = [ln for ln in result.output.splitlines() if "eval.features" in ln]
    assert len(notes) == 1 and "train-labels-idx1-ubyte" in notes[0] and "eval.features.enabled: false" in notes[0]
