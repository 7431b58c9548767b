"""gan_cli/markdown_text.py: any text in a Markdown table cell stays one cell and reads as given,
checked by parsing the table with markdown-it (GitHub's table rules: an escaped pipe stays in its
cell, even in a code span)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from gan_cli import markdown_text

MD = MarkdownIt("commonmark").enable("table")

# Markdown turns U+0000 into U+FFFD and a file name cannot hold it; surrogates cannot be written as UTF-8
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


def cells(row: str) -> list[str]:
    """The text of each cell of the table's one body row, as a reader sees it."""
    tokens = MD.parse("| a | b | c |\n|---|---|---|\n" + row + "\n")
    body = tokens[[t.type for t in tokens].index("tbody_open") :]
    return ["".join(c.content for c in t.children or []) for t in body if t.type == "inline"]


@given(TEXT)
def test_a_code_span_holds_any_text_in_one_cell_exactly(text: str) -> None:
    assert cells(f"| {markdown_text.code(text)} | x | y |") == [markdown_text.one_line(text) or " ", "x", "y"]


@given(TEXT)
def test_plain_text_holds_any_text_in_one_cell_with_no_markup(text: str) -> None:
    # a table cell's text is trimmed of the white space at its ends; nothing else of it may change
    shown = cells(f"| {markdown_text.plain(text)} | x | y |")
    assert shown[1:] == ["x", "y"]
    assert shown[0].strip() == markdown_text.one_line(text).strip()


def test_the_cases_that_broke_tables() -> None:
    assert markdown_text.code("a|b") == r"`a\|b`"
    assert markdown_text.code("x`y") == "``x`y``"
    assert markdown_text.code("`q`") == "`` `q` ``"
    assert markdown_text.plain("run|2\nnew *bold*") == r"run\|2 new \*bold\*"
    assert cells(r"| run\|2 | x | y |") == ["run|2", "x", "y"]
