"""The tool's rich consoles print text as given (gan_cli.consoles): a path or name holding `[...]`
is neither read as markup (MarkupError, or a colour that swallows the text) nor highlighted."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from helpers import gan, tiny_toy_config, train_experiment, write_config
from rich.table import Table

from gan_cli import consoles


@pytest.mark.parametrize("text", ["x[/y]", "[red]x", "[bold]a[/bold] [/]", "a[b"])
def test_text_and_tables_are_printed_as_given(text: str) -> None:
    out = io.StringIO()
    console = consoles.plain(file=out, width=200)
    console.print(f"run {text}")
    table = Table(title=f"gan eval: {text}")
    table.add_column(text)
    table.add_row(text)
    console.print(table)
    printed = out.getvalue()
    assert f"run {text}\n" in printed and printed.count(text) == 4
    assert "\x1b[" not in printed  # no colour, no highlighting


def test_gan_eval_of_a_run_whose_path_reads_as_markup(tmp_path: Path) -> None:
    """`gan eval` on a run in `x[/y]` trained and measured, then raised MarkupError from its table."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(eval={"generated_samples": 300, "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 32}, "density": {"z_grid": 2000, "x_bins": 500, "w1_samples": 50}}))
    trained = tmp_path / "run"
    train_experiment(str(cfg), [], out=str(trained))
    run = tmp_path / "x[" / "y]"
    shutil.copytree(trained, run)
    result = gan("eval", "--ckpt", run)
    assert result.exit_code == 0, result.output
    title = result.output.split("gan eval: ")[-1]  # the table's title, wrapped to the terminal's width
    assert "".join(title.split()).startswith("".join(f"{run}/checkpoints/last.pt(step12".split()))
    assert (run / "eval.json").is_file()


@pytest.mark.parametrize("columns, width", [("0", 80), ("1", 80), ("39", 80), ("40", 40), ("132", 132)])
def test_a_console_is_never_narrower_than_40_columns(monkeypatch: pytest.MonkeyPatch, columns: str, width: int) -> None:
    """COLUMNS=0 (job runners without a terminal set it) printed gan eval's whole table as nothing."""
    monkeypatch.setenv("COLUMNS", columns)
    out = io.StringIO()
    console = consoles.plain(file=out)
    assert console.width == width
    table = Table(title="gan eval: run")
    for name in ("metric", "value", "n", "estimator"):
        table.add_column(name)
    table.add_row("V(G, D)", "-1.3863 ± 0.0100", "1,000", "mean log D(x) + mean log(1 - D(G(z)))")
    console.print(table)
    assert "-1.3863" in out.getvalue() and "V(G, D)" in out.getvalue()
