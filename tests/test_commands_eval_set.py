"""gan_cli/commands/eval.py `--set`: eval.* and data.root for one evaluation, checked through the
config loader, recorded in eval.json; the run's config.yaml eval section (what `gan train --resume
--set eval.*` rewrites) is what eval reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import gan, one_clean_error, tiny_toy_config, train_experiment, write_config

FAST_EVAL = {"generated_samples": 300, "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 32},
             "density": {"z_grid": 2000, "x_bins": 500, "w1_samples": 50}}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval_set")
    cfg = write_config(root / "c.yaml", tiny_toy_config(eval=FAST_EVAL))
    out = root / "run"
    train_experiment(str(cfg), [], out=str(out))
    return out


def evaluate(run: Path, out: Path, *extra: str) -> dict:
    result = gan("eval", "--ckpt", run, "--json", out, *extra)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_set_changes_what_is_measured_and_eval_json_says_so(run: Path, tmp_path: Path) -> None:
    plain = evaluate(run, tmp_path / "plain.json")
    assert plain["num_samples"] == 300 and plain["overrides"] == []
    changed = evaluate(run, tmp_path / "set.json", "--set", "eval.generated_samples=200", "--set", "eval.critic.steps=10")
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
    assert evaluate(old, tmp_path / "old.json")["num_samples"] == 250
    assert evaluate(copy, tmp_path / "last.json", "--set", "eval.generated_samples=220")["num_samples"] == 220
