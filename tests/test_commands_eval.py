"""`gan eval` (gan_cli/commands/eval.py) end to end: tiny runs trained with `gan train` on 1-D, 2-D and digit data, then
evaluated; eval.json's schema, repeatability with --seed, and one-line errors for bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from helpers import one_clean_error, tiny_toy_config, write_config
from typer.testing import CliRunner

from gan_cli.cli import app
from gan_cli.evaluate.metric_names import METRIC_NAMES
from helpers import gan, one_clean_error, piped_to_head, tiny_toy_config, train_experiment, write_config

torch.set_num_threads(1)
runner = CliRunner()
FAST_EVAL = {"generated_samples": 400, "critic": {"steps": 40, "seeds": 2, "check_every": 20, "batch_size": 64},
             "density": {"z_grid": 5000, "x_bins": 1000, "w1_samples": 100}, "modes": {"generated_samples": 500},
             "memorisation": {"samples": 50}, "parzen": {"valid_examples": 50}}
COMMON = {"seed": 0, "device": "cpu", "log": {"every": 10, "samples_every": 20, "checkpoint_every": 10, "keep": 2, "picture_samples": 16}}
SMALL_MLP = {"hidden": [{"units": 16, "activation": "relu"}]}
CONFIGS: dict[str, dict[str, Any]] = {
    "gaussian1d": {"data": {"name": "gaussian", "mean": 1.0, "std": 0.5, "train_size": 500, "held_out_size": 300},
                   "noise": {"dim": 1, "prior": "uniform", "scale": 1.0}, "generator": {**SMALL_MLP, "output_activation": "linear"}},
    "gaussian_kde": {"data": {"name": "gaussian", "mean": 1.0, "std": 0.5, "train_size": 500, "held_out_size": 300},
                     "noise": {"dim": 3, "prior": "normal", "scale": 1.0}, "generator": {**SMALL_MLP, "output_activation": "linear"}},
    "ring": {"data": {"name": "ring", "train_size": 500, "held_out_size": 300}, "noise": {"dim": 2, "prior": "normal", "scale": 1.0},
             "generator": {**SMALL_MLP, "output_activation": "linear"}},
    "digits": {"data": {"name": "digits"}, "noise": {"dim": 8, "prior": "uniform"},
               "generator": {**SMALL_MLP, "output_activation": "sigmoid", "output_bias": "marginals"}},
}


def gan(*args: Any):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def make_run(root: Path, kind: str) -> Path:
    raw = {"name": kind, **COMMON, **CONFIGS[kind], "discriminator": {"hidden": [{"units": 16, "activation": "maxout", "pieces": 2, "dropout": 0.1}]},
           "train": {"batch_size": 32, "steps": 20, "optimizer": {"name": "adam", "lr": 0.002}}, "eval": FAST_EVAL}
    raw["data"] = {**raw["data"], "root": str(root / "data")}  # digits' feature network is cached under data.root
    cfg = root / f"{kind}.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    run = root / kind
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval_runs")
    return {kind: make_run(root, kind) for kind in CONFIGS}


def evaluate(run: Path, *extra: Any) -> dict[str, Any]:
    result = gan("eval", "--ckpt", run, *extra)
    assert result.exit_code == 0, result.output
    out = Path(extra[list(extra).index("--json") + 1]) if "--json" in extra else run / "eval.json"
    report = json.loads(out.read_text())
    assert set(report["metrics"]) <= set(METRIC_NAMES), "a metric gan sweep would refuse by name"
    report["_output"] = result.output
    return report


def check_schema(report: dict[str, Any], names: list[str], split: str = "test") -> None:
    assert {"checkpoint", "step", "seed", "split", "metrics"} <= set(report)
    assert report["split"] == split and report["step"] == 20 and report["device"] == "cpu"
    for name in names:
        m = report["metrics"][name]
        assert {"value", "stderr", "n", "estimator"} <= set(m), name
        if name == "reverse_kl" and m["value"] is None:  # infinite: JSON has no inf
            assert report["metrics"]["modes_captured"]["value"] == 0 and "infinite" in m["note"]
            continue
        assert isinstance(m["value"], (int, float)) and math.isfinite(m["value"]), name
        assert m["stderr"] is None or m["stderr"] >= 0, name
        assert m["estimator"], name
        assert name in report["_output"], f"{name} is in the printed table"


def test_1d_exact_density_round_trip(runs: dict[str, Path]) -> None:
    r = evaluate(runs["gaussian1d"])
    check_schema(r, ["value", "d_real", "d_fake", "jsd_value_bound", "jsd_critic", "jsd_exact", "value_optimal", "value_gap", "w1"])
    m = r["metrics"]
    assert m["value_optimal"]["value"] == pytest.approx(-math.log(4) + 2 * m["jsd_exact"]["value"], abs=1e-9)
    assert m["value_gap"]["value"] >= -1e-6, "Proposition 1: no D beats D*"
    assert 0 <= m["jsd_exact"]["value"] <= math.log(2) and 0 <= m["jsd_critic"]["value"] <= math.log(2)
    assert "change of variables" in m["jsd_exact"]["estimator"]
    assert m["jsd_value_bound"]["value"] == pytest.approx((m["value"]["value"] + math.log(4)) / 2)
    assert m["value"]["n"] == [300, 400], "held-out real points, fresh generated points"
    from PIL import Image

    with Image.open(runs["gaussian1d"] / "eval_density.png") as im:  # p_data, exact p_g, D, D*
        assert im.width > 300 and len(np.unique(np.asarray(im.convert("L")))) > 20


def test_1d_with_more_noise_dimensions_uses_the_smoothed_estimate(runs: dict[str, Path]) -> None:
    r = evaluate(runs["gaussian_kde"])
    check_schema(r, ["jsd_exact", "value_optimal", "value_gap", "w1", "jsd_critic"])
    assert "smoothed" in r["metrics"]["jsd_exact"]["estimator"] and r["metrics"]["jsd_exact"]["stderr"] > 0


def test_2d_mixture_round_trip_with_mode_metrics(runs: dict[str, Path]) -> None:
    r = evaluate(runs["ring"], "--split", "valid")
    check_schema(r, ["value", "jsd_critic", "jsd_exact", "value_optimal", "w1", "modes_captured", "high_quality", "reverse_kl", "mode_jsd"], "valid")
    m = r["metrics"]
    assert 0 <= m["modes_captured"]["value"] <= 8 and m["modes_captured"]["n"] == 500
    assert 0 <= m["high_quality"]["value"] <= 1 and m["w1"]["floor"] > 0


def test_digits_round_trip_with_parzen_and_memorisation(runs: dict[str, Path]) -> None:
    r = evaluate(runs["digits"])
    check_schema(r, ["value", "jsd_critic", "parzen_ll", "nn_distance_ratio"])
    p = r["metrics"]["parzen_ll"]
    assert p["n"] == 197 and p["n_kernels"] == 400 and p["n_valid"] == 50
    best = max(p["valid_means"], key=p["valid_means"].get)
    assert p["sigma"] == pytest.approx(float(best)), "sigma is the validation argmax"
    assert "Theis" in r["_output"], "the Parzen caveat is printed"
    assert r["metrics"]["nn_distance_ratio"]["value"] > 0
    assert "jsd_exact" not in r["metrics"], "no known density for images"


def test_same_seed_same_numbers_other_seed_other_numbers(runs: dict[str, Path], tmp_path: Path) -> None:
    a = evaluate(runs["ring"], "--seed", "3", "--json", tmp_path / "a.json")
    b = evaluate(runs["ring"], "--seed", "3", "--json", tmp_path / "b.json")
    c = evaluate(runs["ring"], "--seed", "4", "--json", tmp_path / "c.json", "--num-samples", "300")
    assert a["metrics"] == b["metrics"]
    assert set(a["seconds"]) == {"value", "critic", "density", "modes"}
    assert c["metrics"]["value"]["value"] != a["metrics"]["value"]["value"] and c["num_samples"] == 300 and c["seed"] == 4


def test_a_step_checkpoint_file_writes_eval_json_in_its_run_directory(runs: dict[str, Path]) -> None:
    step = runs["gaussian1d"] / "checkpoints" / "step_0000010.pt"
    (runs["gaussian1d"] / "eval.json").unlink(missing_ok=True)
    result = gan("eval", "--ckpt", step)
    assert result.exit_code == 0, result.output
    assert json.loads((runs["gaussian1d"] / "eval.json").read_text())["step"] == 10


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_eval_piped_to_head_still_writes_eval_json(runs: dict[str, Path], tmp_path: Path) -> None:
    # `gan eval ... | head -n 1`: the table's later lines meet a pipe with no reader. That print
    # raised BrokenPipeError and eval.json (written after the table) was lost; now the rest of the
    # output goes to os.devnull and the numbers reach the file
    out = tmp_path / "piped.json"
    code, shown, err = piped_to_head(["eval", "--ckpt", str(runs["gaussian1d"]), "--json", str(out)], 1, cwd=tmp_path)
    assert code == 0, err
    assert shown.startswith("gan eval: ")
    assert "Traceback" not in err and "Exception ignored" not in err and "warning" not in err
    assert json.loads(out.read_text())["metrics"], "the numbers reached the file"


def test_bad_input_is_one_clear_line(runs: dict[str, Path], tmp_path: Path) -> None:
    _one_line_error(gan("eval", "--ckpt", tmp_path / "nope.pt"), "not found")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    _one_line_error(gan("eval", "--ckpt", bad), "corrupt.pt")
    empty_run = tmp_path / "run_without_checkpoints"
    (empty_run / "checkpoints").mkdir(parents=True)
    _one_line_error(gan("eval", "--ckpt", empty_run), "last.pt")
    _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--split", "train"), "--split", "valid or test")
    _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--split", "bogus"), "--split")
    _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--num-samples", "12"), "--num-samples 12", "critic")
    _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--num-samples", "1"), "--num-samples 1")
    _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--json", runs["gaussian1d"] / "config.yaml" / "x.json"), "--json")
    if not torch.cuda.is_available():
        _one_line_error(gan("eval", "--ckpt", runs["gaussian1d"], "--device", "cuda"), "cuda")


def test_eval_settings_are_validated_in_the_config(tmp_path: Path) -> None:
    from gan_cli.config import from_dict
    from gan_cli.errors import GanError

    with pytest.raises(GanError) as exc:
        from_dict({"train": {"steps": 1}, "eval": {"critic": {"seeds": 0, "architecture": "svm"}, "density": {"kde_bandwidth": -1, "z_grid": 10}}})
    text = str(exc.value)
    for key in ("eval.critic.seeds", "eval.critic.architecture", "eval.density.kde_bandwidth", "eval.density.z_grid"):
        assert key in text


# ---------------------------------------------------------------- hostile inputs: checks before the work


def test_eval_on_a_too_small_validation_split_fails_before_any_critic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from helpers import write_idx

    raw = tmp_path / "mnist" / "MNIST" / "raw"
    rng = np.random.default_rng(0)
    write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (120, 28, 28)), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)), gz=True)
    cfg = tiny_toy_config(
        data={"name": "mnist", "root": str(tmp_path / "mnist"), "download": False, "train_range": [0, 100], "valid_range": [100, 120]},
        generator={"output_activation": "sigmoid"},
        train={"steps": 2, "batch_size": 10},
        log={"every": 2, "checkpoint_every": 2, "samples_every": 2, "keep": 1, "picture_samples": 4},
    )
    write_config(tmp_path / "c.yaml", cfg)
    assert gan("train", tmp_path / "c.yaml", "--out", tmp_path / "run").exit_code == 0

    def no_critics(*args, **kwargs):
        raise AssertionError("critics trained before the split check")

    monkeypatch.setattr("gan_cli.evaluate.measure._critic_section", no_critics)
    message = one_clean_error(gan("eval", "--ckpt", tmp_path / "run", "--split", "valid", "--num-samples", "100"))
    assert "leaves 0 to score" in message


# ---- gan eval --set


SET_EVAL = {"generated_samples": 300, "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 32},
             "density": {"z_grid": 2000, "x_bins": 500, "w1_samples": 50}}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval_set")
    cfg = write_config(root / "c.yaml", tiny_toy_config(eval=SET_EVAL))
    out = root / "run"
    train_experiment(str(cfg), [], out=str(out))
    return out


def evaluate_into(run: Path, out: Path, *extra: str) -> dict:
    result = gan("eval", "--ckpt", run, "--json", out, *extra)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_set_changes_what_is_measured_and_eval_json_says_so(run: Path, tmp_path: Path) -> None:
    plain = evaluate_into(run, tmp_path / "plain.json")
    assert plain["num_samples"] == 300 and plain["overrides"] == []
    changed = evaluate_into(run, tmp_path / "set.json", "--set", "eval.generated_samples=200", "--set", "eval.critic.steps=10")
    assert changed["num_samples"] == 200 and changed["metrics"]["value"]["n"] == [128, 200]  # held-out, generated
    assert changed["overrides"] == ["eval.generated_samples=200", "eval.critic.steps=10"]
    assert yaml.safe_load((run / "config.yaml").read_text())["eval"]["generated_samples"] == 300, "for this evaluation only"


def test_set_reaches_eval_all(run: Path, tmp_path: Path) -> None:
    result = gan("eval", "--all", run, "--json", tmp_path / "all.jsonl", "--set", "eval.generated_samples=150")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert rows and all(r["num_samples"] == 150 and r["overrides"] == ["eval.generated_samples=150"] for r in rows)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("eval.critic.step=5", "did you mean 'eval.critic.steps'?"),
        ("train.k=2", "--set train.k: gan eval may set only eval.* keys and data.root"),
        ("eval.critic.steps", "expected KEY=VALUE"),
        ("eval.critic.steps=-3", "eval.critic.steps: must be > 0"),
    ],
)
def test_a_bad_set_is_one_line_and_exit_1(run: Path, tmp_path: Path, item: str, expected: str) -> None:
    out = tmp_path / "bad.json"
    message = one_clean_error(gan("eval", "--ckpt", run, "--json", out, "--set", item))
    assert expected in message
    assert not out.exists()


def test_eval_reads_the_eval_section_a_resume_wrote(run: Path, tmp_path: Path) -> None:
    """`gan train --resume --set eval.*` rewrites config.yaml; the checkpoints written before it
    still hold the old section, and gan eval measures them with the new one."""
    copy = tmp_path / "run"
    import shutil

    shutil.copytree(run, copy)
    train_experiment(None, ["eval.generated_samples=250", "train.steps=14"], out=str(copy), resume=True)
    old = sorted((copy / "checkpoints").glob("step_*.pt"))[0]
    assert evaluate_into(old, tmp_path / "old.json")["num_samples"] == 250
    assert evaluate_into(copy, tmp_path / "last.json", "--set", "eval.generated_samples=220")["num_samples"] == 220


def test_an_evaluation_says_what_it_is_doing(run: Path, tmp_path: Path) -> None:
    result = gan("eval", "--ckpt", run, "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("gan eval: ")]
    assert any("fresh-critic JSD bound" in line for line in said) and all("elapsed" in line for line in said)


class Reached(Exception):
    """Raised where the evaluation would start: every check before it passed."""


def _half_a_gigabyte_and_no_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """500 MB of memory available, and Reached where the evaluation would start."""

    def reached(*args: Any, **kwargs: Any) -> None:
        raise Reached

    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 500_000_000)
    monkeypatch.setattr("gan_cli.commands.eval.evaluate", reached)


@pytest.mark.parametrize(
    "key",
    ["eval.parzen.kernels", "eval.modes.generated_samples", "eval.stacked.generated_samples"],
)
def test_every_count_that_draws_samples_is_sized_before_the_work(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    # each of these was met only inside its section: 10^9 Parzen kernels of a 2-D G asked numpy or
    # torch for terabytes after the critics had run, and an allocation that fits the swap never fails
    _half_a_gigabyte_and_no_evaluation(monkeypatch)
    with pytest.raises(Reached):  # the positive control: a small count passes the same check
        gan("eval", "--ckpt", run, "--json", tmp_path / "ok.json", "--set", f"{key}=1000")
    message = one_clean_error(gan("eval", "--ckpt", run, "--json", tmp_path / "e.json", "--set", f"{key}=100000000"))
    assert f"{key} 100,000,000: needs about" in message and "500.0 MB is available" in message
    assert not (tmp_path / "e.json").exists()


@pytest.mark.parametrize(
    "items, shown",
    [
        (["eval.density.z_grid=100000000"], "eval.density.z_grid 100,000,000 and eval.density.x_bins 1,000: needs about"),
        (["eval.density.x_bins=100000000"], "eval.density.z_grid 5,000 and eval.density.x_bins 100,000,000: needs about"),
        (["eval.critic.architecture=mlp", "eval.critic.units=100000"], "eval.critic.units 100,000 (10,000,"),
    ],
)
def test_the_exact_p_g_and_an_mlp_critic_are_sized_before_the_work(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, items: list[str], shown: str
) -> None:
    """10^11 noise nodes for the exact 1-D p_g were met after the critics had trained, as an out
    of memory that named --num-samples; a critic of 10^5 units a layer is 10^10 parameters."""
    _half_a_gigabyte_and_no_evaluation(monkeypatch)
    sets = [arg for item in items for arg in ("--set", item)]
    small = [arg.replace("100000000", "10000").replace("100000", "100") for arg in sets]
    with pytest.raises(Reached):  # the positive control: the same keys, sized to fit
        gan("eval", "--ckpt", runs["gaussian1d"], "--json", tmp_path / "ok.json", *small)
    message = one_clean_error(gan("eval", "--ckpt", runs["gaussian1d"], "--json", tmp_path / "e.json", *sets))
    assert shown in message and "500.0 MB is available" in message
    assert not (tmp_path / "e.json").exists()
    every = one_clean_error(gan("eval", "--all", runs["gaussian1d"], "--json", tmp_path / "all.jsonl", *sets))
    assert shown in every and not (tmp_path / "all.jsonl").exists()


def test_memorisation_samples_past_the_held_out_split_are_not_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    """The check draws min(eval.memorisation.samples, held-out images): a large value means all of
    them, and was refused as if it drew a billion samples."""
    report = evaluate(runs["digits"], "--set", "eval.memorisation.samples=1000000000", "--json", tmp_path / "m.json")
    assert report["metrics"]["nn_distance_ratio"]["n"] == [197, 197]  # the digits test split, all of it


def test_a_disk_without_room_for_the_results_is_refused_before_the_work(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk ended an evaluation at its last step, writing its picture, as a failure of
    "--out", an option the command was not given."""
    monkeypatch.setattr("gan_cli.outputs.free_bytes", lambda path: 30_000)
    monkeypatch.setattr("gan_cli.commands.eval.evaluate", lambda *a, **k: pytest.fail("evaluated"))
    for args in (("--ckpt", run, "--json", tmp_path / "e.json"), ("--all", run, "--json", tmp_path / "e.jsonl")):
        message = one_clean_error(gan("eval", *args))
        assert message.startswith(f"error: --json {args[-1]}: needs about 4.0 MB and its disk has 30.0 KB free")
    assert list(tmp_path.iterdir()) == []


def test_an_exact_w1_past_10000_samples_is_refused_by_the_config(run: Path, tmp_path: Path) -> None:
    message = one_clean_error(gan("eval", "--ckpt", run, "--set", "eval.density.w1_samples=100000"))
    assert "eval.density.w1_samples: must be <= 10000" in message


def test_samples_past_the_memory_available_are_refused_before_the_work(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000,000 MNIST samples are 31 GB of rows: refused by name, where the allocation would
    otherwise swap or wake the OOM killer (no message at all)."""
    monkeypatch.setattr("gan_cli.devices.available_memory", lambda: 1_000_000)
    monkeypatch.setattr("gan_cli.commands.eval.evaluate", lambda *a, **k: pytest.fail("evaluated"))
    message = one_clean_error(gan("eval", "--ckpt", run, "--num-samples", "1000000", "--json", tmp_path / "e.json"))
    assert "--num-samples 1,000,000 (eval.generated_samples): needs about" in message and "1.0 MB is available" in message
    assert not (tmp_path / "e.json").exists()
