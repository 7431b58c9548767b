"""Every measured figure the docs quote is a link to the result file it came from, and says what
that file holds.

The convention: a quoted figure is written as a Markdown link whose target is a file under
docs/results/ and whose fragment is a dotted path into that JSON file, e.g.

    **[225.9 ± 2.3](results/table1.json#fast.parzen)**     where table1.json has
    "fast": {"parzen": {"mean": 225.9, "se": 2.3}, ...}

The numbers in the link's text, in order, must equal the numbers found at that path (a number, or
every number under an object or list, in file order), each rounded to the decimals the text
shows. Changing a figure in a result file without the docs, or in the docs without the result
file, fails here. On GitHub the figure renders as a link to its result file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from helpers import REPO
from markdown_it import MarkdownIt

DOCS = REPO / "docs"
RESULTS = DOCS / "results"
RESULT_FILES = sorted(RESULTS.glob("*.json"))
GUIDE = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
NOTES = sorted((DOCS / "notes").glob("*.md"))
PAGES = GUIDE + NOTES

# a number as the docs write it: 7,193 / -54.0 / 0.0003 / 82 (in 82%) / 1.23 (in 1.23x); a minus
# only where it cannot be a range's hyphen (57-98)
NUMBER = re.compile(r"(?:(?<![\w.])-)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def numbers_in_text(text: str) -> list[str]:
    text = text.replace("\u2212", "-")  # the typographic minus
    return [m.group(0).replace(",", "") for m in NUMBER.finditer(text)]


def numbers_in_value(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in_value(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in_value(v)]
    raise TypeError(type(value))


def shown_as(value: float, text_number: str) -> str:
    decimals = len(text_number.partition(".")[2])
    return f"{value:.{decimals}f}"


def lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise KeyError(part)
    return data


def figure_links(page: Path) -> list[tuple[int, str, str]]:
    """(line, link text, href) of every link from `page` into docs/results/."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    found = []
    for t in tokens:
        if t.type != "inline":
            continue
        children = t.children or []
        for i, child in enumerate(children):
            if child.type != "link_open":
                continue
            href = str(child.attrGet("href"))
            file_part = unquote(href.partition("#")[0])
            if not file_part or (page.parent / file_part).resolve().parent != RESULTS.resolve():
                continue
            text = []
            for inner in children[i + 1 :]:
                if inner.type == "link_close":
                    break
                text.append(inner.content)
            found.append(((t.map or [0])[0] + 1, "".join(text), href))
    return found


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", RESULT_FILES, ids=[p.name for p in RESULT_FILES])
def test_each_result_file_says_how_it_was_measured(path: Path) -> None:
    data = load(path)
    measured = data.get("measured")
    assert isinstance(measured, dict), f"{path.name}: no 'measured' object (command, hardware, date)"
    for key in ("command", "hardware", "date"):
        assert measured.get(key), f"{path.name}: 'measured' has no {key!r}"
    assert isinstance(data.get("about"), str) and data["about"], f"{path.name}: no 'about' line"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_quoted_figure_matches_its_result_file(page: Path) -> None:
    problems = []
    for line, text, href in figure_links(page):
        file_part, _, fragment = unquote(href).partition("#")
        target = (page.parent / file_part).resolve()
        where = f"{page.name}:{line}: [{text}]({href})"
        if not target.exists():
            problems.append(f"{where}: no such result file")
            continue
        if not fragment:
            continue  # a plain link to the file, quoting no figure
        try:
            value = lookup(load(target), fragment)
        except KeyError as e:
            problems.append(f"{where}: {target.name} has no {fragment!r} (at {e})")
            continue
        shown, stored = numbers_in_text(text), numbers_in_value(value)
        if not shown:
            problems.append(f"{where}: the link quotes no number")
        elif len(shown) != len(stored):
            problems.append(f"{where}: the text shows {len(shown)} numbers, {fragment} holds {len(stored)}: {stored}")
        else:
            for t, v in zip(shown, stored):
                if shown_as(v, t) != t:
                    problems.append(f"{where}: shows {t}, {target.name} holds {v}")
    assert not problems, "\n".join(problems)


def test_every_result_file_is_quoted_by_the_guide() -> None:
    quoted = {
        (page.parent / unquote(href.partition("#")[0])).resolve()
        for page in GUIDE
        for _, _, href in figure_links(page)
        if "#" in href
    }
    unquoted = [p.name for p in RESULT_FILES if p.resolve() not in quoted]
    assert not unquoted, f"result files no page of the guide quotes: {unquoted}"


def test_the_number_convention_itself() -> None:
    assert numbers_in_text("225.9 ± 2.3") == ["225.9", "2.3"]
    assert numbers_in_text("7,193 s, \u22127.1, epochs 57-98, 82%, 1.23x") == ["7193", "-7.1", "57", "98", "82", "1.23"]
    assert numbers_in_value({"mean": 225.9, "se": 2.3, "unit": "nats", "kept": True}) == [225.9, 2.3]
    assert shown_as(16.13, "16.1") == "16.1" and shown_as(395.0, "395") == "395"


# ---------------------------------------------------------------- the guide speaks of the project

LAB_NOTEBOOK = [
    r"\bthis time\b",
    r"earlier version of this code",
    r"\b(lent|was available|were available)\b.*\b(GPU|machine)",
    r"\bGPU\b.*\b(lent|was available)\b",
    r"(?<![\w/&-])#\d+\b",  # an issue number (not an HTML entity such as &#124;)
    r"\bissue \d+",
]


@pytest.mark.parametrize("page", GUIDE, ids=[str(p.relative_to(REPO)) for p in GUIDE])
def test_the_guide_is_no_lab_notebook(page: Path) -> None:
    """Dated remarks on how a result was arrived at belong in docs/notes/, linked from the guide."""
    problems = []
    for i, line in enumerate(page.read_text(encoding="utf-8").splitlines()):
        for pattern in LAB_NOTEBOOK:
            if re.search(pattern, line, flags=re.IGNORECASE):
                problems.append(f"{page.name}:{i + 1}: {line.strip()[:100]}")
    assert not problems, "\n".join(problems)


def test_notes_are_dated_and_linked_from_the_guide() -> None:
    guide_text = "\n".join(p.read_text(encoding="utf-8") for p in GUIDE)
    for note in NOTES:
        assert re.match(r"\d{4}-\d{2}(-\d{2})?-[a-z0-9-]+\.md$", note.name), f"{note.name}: notes are named YYYY-MM-topic.md"
        assert f"notes/{note.name}" in guide_text, f"{note.name}: no page of the guide links it"
