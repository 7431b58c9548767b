"""gan_cli/commands/compare.py: `gan compare RUN... --out DIR` writes compare.md (eval.json metrics
with intervals, the config keys that differ) and compare.png (the curves overlaid)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import gan, one_clean_error, tiny_toy_config, train_experiment, write_config

FAST_EVAL = {"generated_samples": 200, "critic": {"steps": 20, "seeds": 2, "check_every": 10, "batch_size": 32},
             "density": {"z_grid": 2000, "x_bins": 500, "w1_samples": 50}}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    made = []
    for name, lr in (("slow", 0.001), ("fast", 0.004)):
        cfg = write_config(root / f"{name}.yaml", tiny_toy_config(name=name, eval=FAST_EVAL, log={"keep": 3}))
        run = root / name
        train_experiment(str(cfg), [f"train.optimizer.lr={lr}"], out=str(run))
        made.append(run)
    for run in made:
        assert gan("eval", "--ckpt", run).exit_code == 0
    assert gan("eval", "--all", made[0]).exit_code == 0  # one run with eval --all, one without
    return made[0], made[1]


def test_compare_writes_the_table_and_the_picture(runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = gan("compare", *runs, "--out", out)
    assert result.exit_code == 0, result.output
    md = (out / "compare.md").read_text()
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| metric | slow | fast |" in md and "| `value` |" in md and "[" in md.split("| `value` |")[1].splitlines()[0]
    keys = md.split("## Config keys that differ")[1]
    assert "| `train.optimizer.lr` | `0.001` | `0.004` |" in keys and "| `name` | `\"slow\"` | `\"fast\"` |" in keys
    assert "train.batch_size" not in keys, "only the keys that differ"


def test_compare_needs_runs_and_refuses_a_non_regular_output(runs: tuple[Path, Path], tmp_path: Path) -> None:
    assert "two or more" in one_clean_error(gan("compare", runs[0], "--out", tmp_path / "a"))
    assert "has no complete row" in one_clean_error(gan("compare", runs[0], tmp_path, "--out", tmp_path / "b"))
    out = tmp_path / "c"
    out.mkdir()
    os.symlink(runs[0] / "config.yaml", out / "compare.md")
    assert "not a regular file" in one_clean_error(gan("compare", *runs, "--out", out))
    assert (out / "compare.md").is_symlink() and not (out / "compare.png").exists()


def test_one_run_given_twice_is_refused(runs: tuple[Path, Path], tmp_path: Path) -> None:
    """Its curves were drawn twice over each other, and the table showed two runs where there is one."""
    slow, fast = runs
    assert one_clean_error(gan("compare", slow, fast, slow, "--out", tmp_path / "a")).endswith(
        f"the run {slow.resolve()} is given twice; give each run once\n"
    )
    link = tmp_path / "link"
    link.symlink_to(slow)
    message = one_clean_error(gan("compare", slow, link, "--out", tmp_path / "b"))
    assert f"is given twice (as {slow} and {link})" in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _copy_run_with(run: Path, dest: Path, name: str, make: str) -> Path:
    """A copy of `run` whose log `name` is a FIFO, a directory or a dangling link (`make`)."""
    import shutil

    shutil.copytree(run, dest)
    target = dest / name
    target.unlink(missing_ok=True)
    {"fifo": os.mkfifo, "directory": os.mkdir, "dangling": lambda p: os.symlink(dest / "gone.jsonl", p)}[make](target)
    return dest


@pytest.mark.parametrize(
    ("name", "make", "said"),
    [
        ("metrics.jsonl", "fifo", "it is a FIFO (named pipe)"),
        ("metrics.jsonl", "directory", "it is a directory"),
        ("selection.jsonl", "fifo", "it is a FIFO (named pipe)"),
        ("eval_all.jsonl", "dangling", "it is a link to a missing file"),
        ("eval.json", "fifo", "it is a FIFO (named pipe)"),  # reading it waited for a writer forever
        ("config.yaml", "fifo", "it is a FIFO (named pipe)"),
    ],
)
def test_a_run_log_that_is_not_a_file_is_named_by_its_kind(
    runs: tuple[Path, Path], tmp_path: Path, name: str, make: str, said: str
) -> None:
    """Such a log read as a run that had logged nothing ('has no complete row', 'does not exist')."""
    odd = _copy_run_with(runs[0], tmp_path / "odd", name, make)
    message = one_clean_error(gan("compare", odd, runs[1], "--out", tmp_path / "cmp"))
    assert f"{odd / name}" in message and said in message
    assert not (tmp_path / "cmp").exists()
    if name in ("metrics.jsonl", "selection.jsonl"):  # gan plot curves reads metrics.jsonl and selection.jsonl
        assert f"cannot read {odd / name}: {said}" in one_clean_error(gan("plot", "curves", odd, "--out", tmp_path / "c.png"))


def test_names_and_eval_json_values_of_any_kind_keep_the_report_whole(runs: tuple[Path, Path], tmp_path: Path) -> None:
    """A run directory named with a pipe, backticks and TeX dollars split compare.md's columns and
    failed the picture (matplotlib read `$\\x$` as TeX); an eval.json of another version or edited by
    hand (a step that is text, a value that is a string) stopped the command with a traceback."""
    import json
    import shutil

    from markdown_it import MarkdownIt

    odd = tmp_path / "a|b `c` $\\x$"
    shutil.copytree(runs[0], odd)
    result = json.loads((odd / "eval.json").read_text())
    result["step"], result["num_samples"], result["split"] = "twelve", None, "te|st"
    name = next(iter(result["metrics"]))
    result["metrics"][name]["value"] = "12 | 13"
    result["metrics"]["new|metric"] = {"value": True, "stderr": "x"}
    (odd / "eval.json").write_text(json.dumps(result))
    out = tmp_path / "cmp"
    outcome = gan("compare", odd, runs[1], "--out", out)
    assert outcome.exit_code == 0, outcome.output
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "compare.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    widths, row = [], 0
    for t in tokens:
        if t.type == "tr_open":
            row = 0
        elif t.type in ("td_open", "th_open"):
            row += 1
        elif t.type == "tr_close":
            widths.append(row)
    assert widths and set(widths) == {3}, "every row: its label and one cell per run"
    texts = ["".join(c.content for c in t.children or []) for t in tokens if t.type == "inline"]
    assert odd.name in texts and str(odd) in texts, "the name and the path read as they are"
    assert "step twelve, split te|st, n null, seed 0" in texts
    assert "12 | 13" in texts and "new|metric" in texts
    # gan plot curves titles its picture with the run's name and its last row's epoch
    with (odd / "metrics.jsonl").open("a") as log:
        log.write(json.dumps({"step": 10**6, "epoch": "late", "value": "x"}) + "\n")
    assert gan("plot", "curves", odd, "--out", tmp_path / "c.png").exit_code == 0
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
