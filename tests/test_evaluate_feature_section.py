"""`gan eval` on labelled image data end to end: a tiny 8x8-digits run, its feature metrics beside
their real-vs-real calibration in eval.json and in the printed table, the network's hashes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from gan_cli import config, data
from gan_cli.cli import app
from gan_cli.data.fingerprint import fingerprint

runner = CliRunner()
FEATURE_METRICS = ["fid", "kid", "precision", "recall", "density", "coverage", "classes_covered", "class_kl"]
FAST_EVAL = {"generated_samples": 300, "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 64}, "memorisation": {"samples": 50}, "parzen": {"valid_examples": 50}, "features": {"fid_bootstrap": 5, "network": "local"}}  # the locally trained network (the shipped one: test_reference_features)


def gan(*args: Any):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def make_run(root: Path, name: str, activation: str = "sigmoid", steps: int = 10, **eval_keys: Any) -> Path:
    raw = {
        "name": name, "seed": 0, "device": "cpu",
        "data": {"name": "digits", "root": str(root / "data")},
        "noise": {"dim": 8, "prior": "uniform"},
        "generator": {"hidden": [{"units": 16, "activation": "relu"}], "output_activation": activation},
        "discriminator": {"hidden": [{"units": 16, "activation": "relu"}]},
        "train": {"batch_size": 32, "steps": steps, "optimizer": {"name": "adam", "lr": 0.002}},
        "log": {"every": 10, "samples_every": 10, "checkpoint_every": 10, "keep": 3, "picture_samples": 16},
        "eval": {**FAST_EVAL, **eval_keys},
    }
    cfg = root / f"{name}.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    result = gan("train", cfg, "--out", root / name)
    assert result.exit_code == 0, result.output
    return root / name


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("features")
    trained = gan("eval", "features", "--data", root_config(root), "--steps", "150")
    assert trained.exit_code == 0, trained.output
    return root


def root_config(root: Path) -> Path:
    path = root / "features.yaml"
    path.write_text(yaml.safe_dump({"data": {"name": "digits", "root": str(root / "data")}, "train": {"steps": 1}}))
    return path


def evaluate(run: Path, *extra: Any) -> dict[str, Any]:
    result = gan("eval", "--ckpt", run, *extra)
    assert result.exit_code == 0, result.output
    report = json.loads(((Path(extra[1]) if extra and extra[0] == "--json" else run / "eval.json")).read_text())
    report["_output"] = result.output
    return report


def test_feature_metrics_with_calibration_in_json_and_table(root: Path) -> None:
    r = evaluate(make_run(root, "sig"))
    m = r["metrics"]
    for name in FEATURE_METRICS:
        assert {"value", "stderr", "n", "estimator", "calibration", "feature_net"} <= set(m[name]), name
        assert m[name]["value"] is not None and math.isfinite(m[name]["value"]), name
        assert name in r["_output"], name
    assert {"value", "critic", "images", "features"} == set(r["seconds"]), "the existing keys are kept"
    assert "parzen_ll" in m and "nn_distance_ratio" in m
    assert m["fid"]["n"] == [197, 300] and m["precision"]["n"] == 300 and m["recall"]["n"] == 197
    assert m["kid"]["subsets"] == 2 and m["kid"]["subset_size"] == 98
    # a 10-step generator is far from the data; the unseen validation images are close to the test images
    assert m["fid"]["value"] > 3 * m["fid"]["calibration"]["value"]
    assert m["density"]["value"] < m["density"]["calibration"]["value"]
    assert m["classes_covered"]["calibration"]["value"] == 10 and m["class_kl"]["calibration"]["value"] < 0.1
    assert m["fid"]["calibration"]["n"] == [197, 200]
    assert "200 validation images (never seen by the feature network) vs the 197 test images" in r["_output"]
    assert "real vs real" in r["_output"] and "digits-CNN" in r["_output"]
    blob = torch.load(root / "data" / "gan-cli-features" / "digits.pt", weights_only=True)
    assert m["fid"]["feature_net"]["weights_sha256"] == blob["info"]["weights_sha256"]
    assert blob["info"]["weights_sha256"][:12] in r["_output"], "the hashes are printed in the report"


def test_same_seed_same_numbers_and_tanh_generators(root: Path, tmp_path: Path) -> None:
    run = make_run(root, "tanh", activation="tanh")
    a = evaluate(run, "--json", tmp_path / "a.json")
    b = evaluate(run, "--json", tmp_path / "b.json")
    assert {k: a["metrics"][k] for k in FEATURE_METRICS} == {k: b["metrics"][k] for k in FEATURE_METRICS}
    assert 0 <= a["metrics"]["coverage"]["value"] <= 1


def test_features_off_leaves_the_section_out(root: Path) -> None:
    r = evaluate(make_run(root, "off", features={"enabled": False}))
    assert not set(FEATURE_METRICS) & set(r["metrics"]) and "features" in r["seconds"]
    assert "real vs real" not in r["_output"]


def test_a_feature_network_trained_on_other_data_stops_gan_eval(root: Path, tmp_path: Path) -> None:
    run = make_run(root, "other")
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["train_range"] = [0, 1000]  # the cached network saw [0, 1400)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    cache = root / "data" / "gan-cli-features"
    (cache / "digits-train0-1000.pt").write_bytes((cache / "digits.pt").read_bytes())  # an entry that lies about its data
    ckpt = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    ckpt["config"]["data"]["train_range"] = [0, 1000]
    # a run that trained on [0, 1000): its data's fingerprint too, or gan eval stops at that first
    ckpt["data_info"]["fingerprint"] = fingerprint(data.load(config.from_dict(ckpt["config"])))
    torch.save(ckpt, tmp_path / "other.pt")
    result = gan("eval", "--ckpt", tmp_path / "other.pt", "--json", tmp_path / "o.json")
    assert result.exit_code == 1 and "trained on other data" in result.output and "Traceback" not in result.output


def test_eval_all_evaluates_every_checkpoint_alike(root: Path, tmp_path: Path) -> None:
    run = make_run(root, "all", steps=20)
    result = gan("eval", "--all", run, "--num-samples", "200")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (run / "eval_all.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20], "step_10, step_20; last.pt repeats step 20 and is skipped"
    assert all(r["num_samples"] == 200 and r["seed"] == 0 and "fid" in r["metrics"] for r in rows)
    assert rows[1]["metrics"]["fid"] == evaluate(run, "--json", tmp_path / "last.json", "--num-samples", "200")["metrics"]["fid"], "a row is what gan eval writes"
    from PIL import Image

    for name in ("fid", "precision", "value", "parzen_ll"):
        with Image.open(run / "eval_all" / f"{name}.png") as im:
            assert im.width > 200
    assert "[2/2] step 20" in result.output and "eval_all.jsonl (2 rows)" in result.output


def test_eval_all_errors_are_one_line(root: Path, tmp_path: Path) -> None:
    for args, words in (
        (("--all", tmp_path / "nope"), ("--all", "not a directory")),
        (("--all", tmp_path), ("no checkpoints",)),
        (("--all", tmp_path, "--ckpt", tmp_path), ("--ckpt and --all",)),
    ):
        result = gan("eval", *args)
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert result.exit_code == 1 and len(lines) == 1 and all(w in lines[0] for w in words), result.output


def rgb_run(root: Path, **eval_keys: Any) -> Path:
    import numpy as np

    npz = root / "rgb.npz"
    np.savez(npz, x=np.random.default_rng(0).random((300, 3, 8, 8)).astype(np.float32))
    raw = {
        "name": "rgb", "seed": 0, "device": "cpu", "data": {"name": "npz", "path": str(npz)}, "noise": {"dim": 4},
        "generator": {"hidden": [{"units": 8}], "output_activation": "sigmoid"}, "discriminator": {"hidden": [{"units": 8}]},
        "train": {"batch_size": 30, "steps": 4}, "log": {"every": 4, "samples_every": 4, "checkpoint_every": 4, "keep": 1, "picture_samples": 4},
        "eval": {**FAST_EVAL, "generated_samples": 40, "features": {**FAST_EVAL["features"], "inception": True}, **eval_keys},
    }
    cfg = root / "rgb.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert gan("train", cfg, "--out", root / "rgb").exit_code == 0
    return root / "rgb"


def test_inception_offline_is_one_line_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.evaluate import inception

    monkeypatch.setattr(inception, "weights_available", lambda cuda: "<urlopen error [Errno -3] Temporary failure in name resolution>")
    r = evaluate(rgb_run(tmp_path))
    assert "inception_fid" not in r["metrics"] and "jsd_critic" in r["metrics"]
    lines = [ln for ln in r["_output"].splitlines() if "eval.features.inception" in ln]
    assert len(lines) == 1 and "offline" in lines[0] and "name resolution" in lines[0]


def test_inception_records_and_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.evaluate import inception

    seen: list[tuple[int, int, torch.dtype]] = []

    def fake_fid_kid(fake01: torch.Tensor, real01: torch.Tensor, shape: tuple[int, ...], cuda: bool) -> dict[str, float]:
        images = inception._Uint8Images(fake01, shape)
        seen.append((len(images), len(real01), images[0].dtype))
        assert images[0].shape == (3, 8, 8) and int(images.x.max()) <= 255
        return {"fid": 10.0 * len(seen), "kid": 0.1 * len(seen), "kid_std": 0.01}

    monkeypatch.setattr(inception, "weights_available", lambda cuda: None)
    monkeypatch.setattr(inception, "fid_kid", fake_fid_kid)
    m = evaluate(rgb_run(tmp_path))["metrics"]
    assert seen == [(40, 30, torch.uint8), (40, 30, torch.uint8)], "samples, then as many training images, each against the test split"
    assert m["inception_fid"]["value"] == 10.0 and m["inception_fid"]["calibration"]["value"] == 20.0
    assert m["inception_kid"]["subset_std"] == 0.01 and m["inception_fid"]["n"] == [30, 40]
    one = torch.tensor([[0.0, 0.5, 1.0, 1.2]])
    assert inception._Uint8Images(one, (1, 2, 2))[0].flatten().tolist() == [0, 128, 255, 255]


def test_a_damaged_feature_cache_fails_before_anything_is_measured(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(root, "damaged")
    cache = root / "data" / "gan-cli-features" / "digits.pt"
    saved = cache.read_bytes()
    measured: list[str] = []
    import gan_cli.evaluate.measure as measure

    real = measure._value_section
    monkeypatch.setattr(measure, "_value_section", lambda *a, **k: measured.append("value") or real(*a, **k))
    try:
        cache.write_bytes(saved[: len(saved) // 2])  # truncated
        result = gan("eval", "--ckpt", run, "--json", tmp_path / "e.json")
    finally:
        cache.write_bytes(saved)
    assert result.exit_code == 1 and "Traceback" not in result.output and measured == [], "it failed first"
