"""The reference feature networks shipped in the package (hash-pinned, the default of `gan eval`),
the calibration on images the network never saw, prdc's density and coverage as a cross-check, and
the Wilson interval of a proportion whose s.e. is 0 in the table. No real MNIST needed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from rich.console import Console
from typer.testing import CliRunner

from gan_cli import data
from gan_cli.cli import app
from gan_cli.config import from_dict
from gan_cli.errors import GanError
from gan_cli.evaluate import feature_cache, feature_calibration, feature_reference
from gan_cli.evaluate import feature_metrics as fm
from gan_cli.evaluate import feature_net as fn
from gan_cli.evaluate.feature_scores import score_images
from gan_cli.evaluate.report import format_value, shown, table
from gan_cli.evaluate.stacked import stacked_net
from gan_cli.sample import load_models

MNIST_SHA256 = "4f0d66e9bdead3464d9ef20f1a0fd06e889d102608da28cecd0fa21c2ae9d6cf"
runner = CliRunner()


def cfg_for(name: str, root: Path, **features: Any) -> Any:
    raw: dict[str, Any] = {"data": {"name": name, "root": str(root)}, "train": {"steps": 1}}
    if features:
        raw["eval"] = {"features": features}
    return from_dict(raw)


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any feature-network training fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a feature network was trained")

    monkeypatch.setattr(feature_cache, "train_and_save", refuse)
    monkeypatch.setattr(fn, "train_classifier", refuse)


def test_the_mnist_file_is_the_pinned_one() -> None:
    name, digest = feature_reference.PINNED["mnist"]
    assert digest == MNIST_SHA256, "changing the shipped network changes every FID: pin the new hash on purpose"
    for key, (name, digest) in feature_reference.PINNED.items():
        path = feature_reference.path_of(key)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, key
        assert name == f"{key}-digitcnn-{digest[:12]}.pt"
        record = json.loads(path.with_suffix(".json").read_text())
        assert record["file_sha256"] == digest and record["file"] == name


def test_the_mnist_network_loads_verified_and_runs() -> None:
    model, path, info = feature_reference.load_model("mnist")
    assert info["test_accuracy"] >= 0.99 and info["n_test"] == 10_000 and info["data"] == "mnist"
    assert info["train_range"] == [0, 50_000] and info["n_train"] == 50_000, "the validation split stays unseen"
    assert info["weights_dtype"] == "float16" and path.stat().st_size < 1_000_000
    record = json.loads(path.with_suffix(".json").read_text())
    assert {k: v for k, v in record.items() if k not in ("file", "file_sha256")} == {
        k: v for k, v in info.items() if k not in ("network", "file", "file_sha256")
    }, "the JSON repeats the pinned file's info"
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert model(x).shape == (5, 10) and model.features(x).shape == (5, fn.FEATURE_DIM)
    feats, labels = fn.extract(model, x.reshape(5, -1))
    assert feats.dtype == torch.float64 and feats.shape == (5, 128) and labels.shape == (5,)
    assert all(p.dtype == torch.float32 for p in model.parameters()), "stored in float16, computed in float32"


def test_the_mnist_networks_features_of_fixed_images_are_pinned() -> None:
    """The shipped network's output on fixed inputs, to 1e-5: a change of its loading, preprocessing
    or architecture code, or a torch whose kernels move it, shows here before it moves any FID.
    (The same values came out with one and with two threads, to the last bit.)"""
    model, _, _ = feature_reference.load_model("mnist")
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    blobs = [torch.exp(-((xx - 6 - 2 * i) ** 2 + (yy - 20 + 2 * i) ** 2) / 18.0) for i in range(8)]
    feats, labels = fn.extract(model, torch.stack(blobs).reshape(8, 784))
    norms = [25.571775, 21.588069, 16.739816, 14.160656, 15.138255, 17.3265, 20.247963, 21.761064]
    assert feats.norm(dim=1).tolist() == pytest.approx(norms, rel=1e-5)
    assert labels.tolist() == [1, 2, 6, 6, 9, 9, 1, 1]
    noise = torch.rand(8, 784, generator=torch.Generator().manual_seed(0))
    assert fn.extract(model, noise)[0].sum().item() == pytest.approx(3867.611101537943, rel=1e-5)


def test_a_tampered_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = feature_reference.path_of("mnist")
    blob = bytearray(src.read_bytes())
    blob[len(blob) // 2] ^= 1
    bad = tmp_path / src.name
    bad.write_bytes(bytes(blob))
    with pytest.raises(GanError, match="modified or damaged"):
        feature_reference.load_file(bad, MNIST_SHA256)
    monkeypatch.setattr(feature_reference, "path_of", lambda key: bad)
    with pytest.raises(GanError, match="not the pinned"):
        feature_cache.reference_net(cfg_for("mnist", tmp_path))
    shutil.copy(src, bad)  # the untouched bytes load
    assert feature_reference.load_file(bad, MNIST_SHA256)[0]["data"] == "mnist"


def test_the_default_is_the_reference_network_without_data_or_training(tmp_path: Path, no_training: None) -> None:
    console = Console(file=None, record=True)
    net = feature_cache.ensure(cfg_for("mnist", tmp_path / "none"), None, console)
    assert net.is_reference and net.info["file_sha256"] == MNIST_SHA256
    rec = net.record()
    assert rec["network"] == "reference" and rec["file_sha256"] == MNIST_SHA256 and rec["train_range"] == [0, 50_000]
    assert "shipped with gan-cli" in net.describe() and MNIST_SHA256[:12] in net.describe()
    stacked = stacked_net(cfg_for("stacked-mnist", tmp_path / "none"), np.arange(1000), console)
    assert stacked.record()["file_sha256"] == MNIST_SHA256 and stacked.label == "MNIST-CNN x 3"
    digits = feature_cache.ensure(cfg_for("digits", tmp_path), None, console)
    assert digits.is_reference and digits.info["data"] == "digits"


def test_local_on_request_and_where_none_is_shipped(tmp_path: Path, no_training: None) -> None:
    with pytest.raises(AssertionError, match="was trained"):
        feature_cache.ensure(cfg_for("digits", tmp_path, network="local"), None, Console(record=True))
    assert feature_reference.for_data("fashion-mnist") is None
    with pytest.raises(GanError, match="eval.features.network: local"):
        feature_cache.reference_net(cfg_for("digits", tmp_path), shape=(1, 28, 28))


def test_the_calibration_names_an_unseen_split(tmp_path: Path) -> None:
    net = feature_cache.reference_net(cfg_for("mnist", tmp_path))
    assert feature_calibration.unseen_split("test") == "valid" and feature_calibration.unseen_split("valid") == "test"
    cfg = cfg_for("mnist", tmp_path)
    pair = feature_calibration.calibration_pair(cfg, net, "valid", 10_000, "test", 10_000)
    assert pair == "10,000 validation images (never seen by the feature network) vs the 10,000 test images"
    assert "never seen" in feature_calibration.calibration_pair(cfg, net, "test", 10_000, "valid", 10_000)
    overlap = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, valid_range=[45_000, 55_000]))
    assert "trained on 5,000 images of their range" in feature_calibration.calibration_pair(
        overlap, net, "valid", 10_000, "test", 10_000
    )
    stacked = feature_calibration.calibration_pair(cfg_for("stacked-mnist", tmp_path), net, "valid", 10, "test", 10)
    assert "partly trained on" in stacked


def test_gan_eval_uses_the_shipped_network_and_an_unseen_calibration(tmp_path: Path, no_training: None) -> None:
    raw = {
        "name": "ref", "seed": 0, "device": "cpu",
        "data": {"name": "digits", "root": str(tmp_path / "data")},
        "noise": {"dim": 8, "prior": "uniform"},
        "generator": {"hidden": [{"units": 16, "activation": "relu"}], "output_activation": "sigmoid"},
        "discriminator": {"hidden": [{"units": 16, "activation": "relu"}]},
        "train": {"batch_size": 32, "steps": 10, "optimizer": {"name": "adam", "lr": 0.002}},
        "log": {"every": 10, "samples_every": 10, "checkpoint_every": 10, "keep": 3, "picture_samples": 16},
        "eval": {
            "generated_samples": 300,
            "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 64},
            "memorisation": {"samples": 50},
            "parzen": {"valid_examples": 50},
            "features": {"fid_bootstrap": 5},
        },
    }  # fmt: skip
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(raw))
    trained = runner.invoke(app, ["train", str(tmp_path / "ref.yaml"), "--out", str(tmp_path / "ref")])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(app, ["eval", "--ckpt", str(tmp_path / "ref")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "ref" / "eval.json").read_text())["metrics"]
    digest = feature_reference.PINNED["digits"][1]
    assert m["fid"]["feature_net"]["network"] == "reference" and m["fid"]["feature_net"]["file_sha256"] == digest
    pair = m["fid"]["calibration"]["pair"]
    assert pair == "200 validation images (never seen by the feature network) vs the 197 test images"
    assert "validation images (never seen" in result.output and digest[:12] in result.output
    assert not (tmp_path / "data" / "gan-cli-features").exists(), "nothing trained, nothing cached"
    # calibration_images draws the row's images in the row's order: a benchmark that prints gan
    # eval's calibration computes it there, down to KID's subsets and the bootstrap s.e.
    loaded = load_models(tmp_path / "ref" / "checkpoints" / "last.pt", torch.device("cpu"))
    ds = data.load(loaded.cfg)
    cal_split, real = feature_calibration.calibration_images(ds, "test", 300, 0)
    assert cal_split == "valid" and len(real) == len(ds.valid) == 200
    net = feature_cache.reference_net(loaded.cfg)
    again = score_images(net, ds.to_unit(ds.test), ds.to_unit(ds.test), ds.to_unit(real), "test", loaded.cfg.eval, 0)
    for name in ("fid", "kid", "density"):
        for key in ("value", "stderr"):
            assert again[name]["calibration"][key] == m[name]["calibration"][key], (name, key)
    in_file_order = score_images(net, ds.to_unit(ds.test), ds.to_unit(ds.test), ds.to_unit(ds.valid), "test", loaded.cfg.eval, 0)
    assert in_file_order["fid"]["calibration"]["value"] == pytest.approx(m["fid"]["calibration"]["value"], rel=1e-9)
    assert in_file_order["kid"]["calibration"]["value"] != m["kid"]["calibration"]["value"], "KID's subsets follow the order"


@pytest.mark.parametrize("k", [3, 5])
def test_density_and_coverage_match_prdc(k: int) -> None:
    prdc = pytest.importorskip("prdc")
    rng = np.random.default_rng(k)
    real, fake = rng.normal(size=(400, 16)), rng.normal(0.3, 1.2, size=(300, 16))
    ours = fm.prdc(torch.from_numpy(real), torch.from_numpy(fake), pr_k=k, dc_k=k)
    theirs = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name]["value"] == pytest.approx(float(theirs[name]), abs=1e-12), name


def test_a_proportion_with_zero_stderr_prints_its_wilson_interval() -> None:
    recall = fm._fraction(0.0, 10_000)
    assert recall["stderr"] == 0
    text = shown(recall)
    lo, hi = recall["interval"]
    assert text == f"0.0000 [0, {hi:.2g}]" and lo == 0 and 0 < hi < 0.001
    assert shown(fm._fraction(1.0, 10_000)).startswith("1.0000 [0.99") and shown(fm._fraction(1.0, 10_000)).endswith(", 1]")
    assert shown(fm._fraction(0.5, 100)) == f"0.5000 ± {format_value(0.05)}", "a nonzero s.e. prints as before"
    result = {
        "checkpoint": "c", "step": 1, "split": "test", "seed": 0,
        "metrics": {"recall": {**recall, "label": "recall", "calibration": {**recall, "pair": "p"}}},
    }  # fmt: skip
    console = Console(record=True, width=200)
    console.print(table(result))
    assert console.export_text().count(f"0.0000 [0, {hi:.2g}]") == 2 and "± 0.0000" not in console.export_text()
