"""`gan sweep` (gan_cli/commands/sweep.py) refusing to start: a missing Ray, an address where nothing
listens, a sweep directory in use or absent. No Ray is started here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sweep_helpers import tiny_base, write_sweep
from typer.testing import CliRunner

from gan_cli.cli import app
import os
import stat
import subprocess
import textwrap
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config
from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir

runner = CliRunner()


def test_missing_ray_names_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    out = tmp_path / "o"
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path, config=tiny_base())), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: gan sweep runs its trials on Ray, which is not installed: pip install 'gan-cli[sweep]'"
    assert not out.exists()


def test_an_out_that_holds_files_is_refused_with_a_resume_command_to_paste(tmp_path: Path) -> None:
    out = tmp_path / "my sweep"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path)), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip().endswith(f"continue it with gan sweep --resume '{out}'")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_address_where_nothing_listens_fails_at_once(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "o"
    result = runner.invoke(app, ["sweep", str(write_sweep(tmp_path)), "--out", str(out), "--address", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.startswith("error: --address 127.0.0.1:1: nothing answers at 127.0.0.1:1")
    assert not out.exists()


def test_one_sweep_directory_runs_one_sweep_at_a_time(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    fcntl = pytest.importorskip("fcntl")
    sweep_dir = write_sweep(tmp_path / "sw").parent  # base.yaml and sweep.yaml: a sweep directory's layout
    with open(sweep_dir / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a running `gan sweep` holds it
        result = runner.invoke(app, ["sweep", "--resume", str(sweep_dir)])
    assert result.exit_code == 1
    assert "another gan sweep is running on" in result.output


def test_resume_needs_a_sweep_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", "--resume", str(tmp_path)])
    assert result.exit_code == 1
    assert "no sweep.yaml there" in result.output


# ---- hostile inputs: an edited sweep, an address that is not Ray


def _sweep_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"base: {REPO / 'configs' / 'ring8.yaml'}\n{extra}")
    return path


def test_a_sweep_whose_file_was_edited_is_not_resumed_as_the_same_sweep(tmp_path: Path) -> None:
    from gan_cli.sweep.directory import new_sweep_dir
    from gan_cli.sweep import spec as spec_mod

    from gan_cli.sweep import results

    sweep_dir = new_sweep_dir(spec_mod.load(_sweep_file(tmp_path, "seeds: 2\ngrid: {train.k: [1, 2]}\n")), tmp_path / "sw")
    results.append(sweep_dir / results.RESULTS, {"trial": "k=1,seed=0", "status": "ok", "grid": {"train.k": 1}, "seed": 0})
    spec_file = sweep_dir / "sweep.yaml"
    spec_file.write_text(spec_file.read_text().replace("- 2\n", "- 3\n"))
    message = one_clean_error(gan("sweep", "--resume", sweep_dir))
    assert "changed since 1 of its trials finished" in message


def test_sweep_address_where_something_else_listens_fails_in_seconds(tmp_path: Path) -> None:
    import socket
    import threading
    import time

    pytest.importorskip("ray")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:  # an HTTP/1 server, say: it reads and answers something that is not HTTP/2
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    start = time.monotonic()
    try:
        message = one_clean_error(gan("sweep", _sweep_file(tmp_path, "seeds: 1\n"), "--address", f"127.0.0.1:{port}"))
    finally:
        server.close()
    assert "but not Ray" in message and time.monotonic() - start < 20


@pytest.mark.parametrize(
    ("name", "make", "said"),
    [
        (".sweep-digest", "fifo", "it is a FIFO (named pipe)"),  # its write waited for a reader forever
        ("summary.md", "link", "it is a symbolic link"),  # written through to the link's target
        ("results.jsonl", "directory", "it is a directory"),
        ("summary_value.png", "fifo", "it is a FIFO (named pipe)"),  # found only after every trial
    ],
)
def test_a_sweep_file_that_is_not_a_regular_file_is_refused_before_any_trial(
    tmp_path: Path, name: str, make: str, said: str
) -> None:
    from gan_cli.sweep import spec as spec_mod
    from gan_cli.sweep.directory import new_sweep_dir

    # the tiny base: were the check gone, the sweep would run its trials in seconds, not hang
    sweep_dir = new_sweep_dir(spec_mod.load(write_sweep(tmp_path / "spec", seeds=1)), tmp_path / "sw")
    outside = tmp_path / "notes.md"
    outside.write_text("a researcher's notes\n")
    target = sweep_dir / name
    target.unlink(missing_ok=True)
    {"fifo": os.mkfifo, "directory": os.mkdir, "link": lambda p: os.symlink(outside, p)}[make](target)
    before = {p.name for p in sweep_dir.iterdir()} | {".lock"}
    message = one_clean_error(gan("sweep", "--resume", sweep_dir))
    assert f"the sweep's file {target}: refusing to replace it: {said}" in message
    assert outside.read_text() == "a researcher's notes\n"
    assert {p.name for p in sweep_dir.iterdir()} <= before, "no trial's run directory was made"


def test_a_sweep_file_that_is_a_fifo_is_named_on_resume(tmp_path: Path) -> None:
    from gan_cli.sweep import spec as spec_mod
    from gan_cli.sweep.directory import new_sweep_dir

    sweep_dir = new_sweep_dir(spec_mod.load(write_sweep(tmp_path / "spec", seeds=1)), tmp_path / "sw")
    (sweep_dir / "sweep.yaml").unlink()
    os.mkfifo(sweep_dir / "sweep.yaml")
    assert "sweep.yaml is not a YAML file: it is a FIFO (named pipe)" in one_clean_error(gan("sweep", "--resume", sweep_dir))


def test_grid_values_of_any_text_keep_the_summary_table_and_the_figure_whole(tmp_path: Path) -> None:
    """A grid value with a pipe split summary.md's columns; one with two dollars failed the figure
    (matplotlib read `$\\x$` as TeX)."""
    from markdown_it import MarkdownIt

    from gan_cli.figures.sweep import SweepPoint, plot_sweep
    from gan_cli.sweep import spec as spec_mod
    from gan_cli.sweep import summary

    spec = spec_mod.load(_sweep_file(tmp_path, 'seeds: 1\ngrid: {name: ["a|b", "c `d` $\\\\x$"]}\n'))
    names, points = summary.summarise(spec, spec.trials(), {})
    tokens = MarkdownIt("commonmark").enable("table").parse(summary.markdown(spec, names, points, [], None))
    kinds = [t.type for t in tokens]
    header = [t for t in tokens[kinds.index("thead_open") : kinds.index("thead_close")] if t.type == "inline"]
    assert ["".join(c.content for c in t.children or []) for t in header] == ["metric", "name=a|b", "name=c `d` $\\x$"]
    assert sum(t.type == "th_open" for t in tokens) == 3
    figure = plot_sweep([SweepPoint(p.label, [1.0, 2.0], 1.5, 0.5) for p in points], "value", "sweep $\\x$", tmp_path / "f.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
