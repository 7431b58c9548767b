"""The README and docs/*.md render, their links and pictures resolve, and they say what the code does;
the figures they quote are links to their result files; the README's printed examples are the tool's.

Parsed with markdown-it-py (CommonMark, as GitHub renders it): a fence closed with text after its
backticks does not close, and everything after it turns into code, headings and pictures included.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import typer
import yaml
from helpers import CONFIGS, REPO, gan
from markdown_it import MarkdownIt
from markdown_it.token import Token
from typer.testing import CliRunner

from gan_cli import config
from gan_cli.cli import app

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
NOTES = sorted((REPO / "docs" / "notes").glob("*.md"))  # dated experiment notes, linked from the guide
PAGES = [README, *DOCS, *NOTES]
CONFIG_DOC = REPO / "docs" / "config.md"

FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
INFO_STRING = re.compile(r"[A-Za-z0-9_+.-]*")  # a language name, nothing else


def parse(path: Path) -> list[Token]:
    return MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))


def inline_children(tokens: list[Token]) -> list[Token]:
    return [child for t in tokens if t.type == "inline" for child in (t.children or [])]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    tokens = parse(path)
    found: set[str] = set()
    for i, t in enumerate(tokens):
        if t.type == "heading_open":
            base = slug("".join(c.content for c in tokens[i + 1].children or [] if c.type in ("text", "code_inline")))
            name, n = base, 1
            while name in found:  # GitHub numbers repeated headings: x, x-1, x-2
                name, n = f"{base}-{n}", n + 1
            found.add(name)
    return found


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("path", PAGES, ids=ids(PAGES))
def test_every_code_fence_closes_cleanly(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    for t in parse(path):
        if t.type != "fence":
            continue
        start, end = t.map
        opening = FENCE_LINE.match(lines[start])
        assert opening is not None
        marker = opening.group(1)
        if not INFO_STRING.fullmatch(t.info.strip()):
            problems.append(f"line {start + 1}: the fence's info string {t.info.strip()!r} is not a language name (prose after an opening fence?)")
        closing = lines[end - 1] if end - 1 > start else ""
        if not re.fullmatch(r" {0,3}" + re.escape(marker[0]) + "{%d,}[ \t]*" % len(marker), closing):
            problems.append(f"line {start + 1}: the fence never closes (it runs to line {end})")
        for i in range(start + 1, end - 1):
            inner = FENCE_LINE.match(lines[i])
            if inner and inner.group(1)[0] == marker[0] and len(inner.group(1)) >= len(marker):
                problems.append(f"line {i + 1}: text after a closing fence makes it no fence: {lines[i].strip()[:60]!r}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=ids(PAGES))
def test_headings_and_pictures_render_as_such(path: Path) -> None:
    """Every `## heading` line and every `![alt](src)` of the source is a heading / image token,
    not text swallowed by a code block."""
    text = path.read_text(encoding="utf-8")
    tokens = parse(path)
    heading_lines = {t.map[0] for t in tokens if t.type == "heading_open"}
    code_lines = {i for t in tokens if t.type in ("fence", "code_block") for i in range(*t.map)}
    for i, line in enumerate(text.splitlines()):
        if re.match(r"#{1,6} \S", line) and i not in code_lines:
            assert i in heading_lines, f"{path.name}:{i + 1}: {line!r} is not a heading"
        if re.match(r"#{2,6} \S", line):
            assert i in heading_lines, f"{path.name}:{i + 1}: the heading {line!r} is inside a code block"
    images = [c for c in inline_children(tokens) if c.type == "image"]
    in_source = re.findall(r"!\[[^\]]*\]\([^)\s]+\)", text)
    assert len(images) == len(in_source), f"{path.name}: {len(in_source)} pictures in the source, {len(images)} render"


def test_the_readme_shows_its_figures_and_is_short() -> None:
    tokens = parse(README)
    pictures = [c.attrGet("src") for c in inline_children(tokens) if c.type == "image"]
    assert len(pictures) >= 2 and all(str(p).startswith("docs/") for p in pictures)
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300, "the README is for a new user; details go to docs/"
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


# ---------------------------------------------------------------- links


@pytest.mark.parametrize("path", PAGES, ids=ids(PAGES))
def test_every_image_and_relative_link_resolves(path: Path) -> None:
    problems = []
    for child in inline_children(parse(path)):
        if child.type == "image":
            target = str(child.attrGet("src"))
        elif child.type == "link_open":
            target = str(child.attrGet("href"))
        else:
            continue
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
            continue
        if REPO.resolve() not in resolved.parents and resolved != REPO.resolve():
            problems.append(f"{target}: outside the repository")
            continue
        if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{target}: no heading #{fragment} in {resolved.name}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_docs_name_no_machine_paths() -> None:
    for path in PAGES:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            assert not re.search(r"(?<![\w.])/(work|tmp|home|Users|root)/", line), f"{path.name}:{i + 1}: a path of one machine: {line.strip()}"


# ---------------------------------------------------------------- the docs say what the code does


def _tool() -> object:
    spec = importlib.util.spec_from_file_location("update_config_doc", REPO / "tools" / "update_config_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_key_table_in_docs_config_md_is_gan_config_markdown() -> None:
    text = CONFIG_DOC.read_text(encoding="utf-8")
    table = text.split("<!-- keys:start -->\n", 1)[1].split("<!-- keys:end -->", 1)[0]
    assert table == CliRunner().invoke(app, ["config", "--markdown"]).output, "run: python tools/update_config_doc.py"
    assert table.count("| key | default | meaning |") == 1


def test_the_update_tool_is_idempotent() -> None:
    tool = _tool()
    text = CONFIG_DOC.read_text(encoding="utf-8")
    assert tool.render(text) == text, "run: python tools/update_config_doc.py"
    assert tool.render(tool.render(text)) == text


def synopsis() -> dict[str, str]:
    """The README's command synopsis (the first fence under '## Commands'): each `gan ...` line
    with its indented continuation lines, keyed by command path ('train', 'plot curves', ...)."""
    tokens = parse(README)
    start = next(i for i, t in enumerate(tokens) if t.type == "heading_open" and tokens[i + 1].content == "Commands")
    fence = next(t for t in tokens[start:] if t.type == "fence")
    entries: dict[str, str] = {}
    key = None
    for line in fence.content.splitlines():
        if line.startswith("gan "):
            words = [w for w in line.split()[1:3] if re.fullmatch(r"[a-z][a-z0-9-]*", w)]
            key = " ".join(words[:2]) or "--"  # a group's subcommand ('plot curves', 'eval features') is its second word
            entries[key] = entries.get(key, "") + " " + line
        elif key is not None and line.startswith(" "):
            entries[key] += " " + line
    return entries


def commands() -> dict[str, Any]:
    """Every command of `gan --help` and of `gan plot --help`, by its path (click objects; typer
    may bring its own copy of click, so they are told apart by what they have)."""
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, cmd in root.commands.items():
        if hasattr(cmd, "commands"):  # a group: `gan plot`, `gan eval` (whose own options run without a subcommand)
            found.update({f"{name} {sub}": subcmd for sub, subcmd in cmd.commands.items()})
            if [p for p in cmd.params if p.name != "help"]:
                found[name] = cmd
        else:
            found[name] = cmd
    return found


def test_every_command_and_option_of_gan_help_is_in_the_readme_synopsis() -> None:
    entries = synopsis()
    for path, cmd in commands().items():
        assert path in entries, f"`gan {path}` is missing from the README's command synopsis"
        for param in cmd.params:
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            if param.param_type_name == "option":
                assert any(re.search(re.escape(o) + r"(?![\w-])", entries[path]) for o in param.opts), (
                    f"`gan {path}` option {'/'.join(param.opts)} is missing from the README's synopsis"
                )
    help_text = CliRunner().invoke(app, ["--help"]).output
    assert "--version" in help_text and "gan --version" in README.read_text(encoding="utf-8")


def test_the_synopsis_names_only_real_commands() -> None:
    known = set(commands()) | {"--"}
    assert set(synopsis()) <= known, f"the README lists commands gan does not have: {set(synopsis()) - known}"


def test_the_config_walked_through_is_the_shipped_one() -> None:
    tokens = parse(README)
    start = next(i for i, t in enumerate(tokens) if t.type == "heading_open" and tokens[i + 1].content == "A config, walked through")
    fence = next(t for t in tokens[start:] if t.type == "fence")
    assert fence.info.strip() == "yaml"
    assert config.from_dict(yaml.safe_load(fence.content)) == config.load(CONFIGS / "ring8.yaml")


def test_the_module_map_names_every_module() -> None:
    """docs/development.md's module map is complete: every module of gan_cli/ has a row."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)`", text))
    modules = {p.relative_to(REPO / "gan_cli").as_posix() for p in (REPO / "gan_cli").rglob("*.py") if p.name != "__init__.py"}
    missing = sorted(modules - named)
    assert not missing, f"add these modules to docs/development.md's module map: {missing}"
    gone = sorted(n for n in named if "/" in n and not (REPO / "gan_cli" / n).exists() and not n.startswith(("tests/", "tools/", "benchmarks/")))
    assert not gone, f"docs/development.md names modules that no longer exist: {gone}"


# ---------------------------------------------------------------- measured figures are links to their result files


# Every measured figure the docs quote is a link to the result file it came from, and says what
# that file holds.
#
# The convention: a quoted figure is written as a Markdown link whose target is a file under
# docs/results/ and whose fragment is a dotted path into that JSON file, e.g.
#
#     **[225.9 ± 2.3](results/table1.json#fast.parzen)**     where table1.json has
#     "fast": {"parzen": {"mean": 225.9, "se": 2.3}, ...}
#
# The numbers in the link's text, in order, must equal the numbers found at that path (a number, or
# every number under an object or list, in file order), each rounded to the decimals the text
# shows. Changing a figure in a result file without the docs, or in the docs without the result
# file, fails here. On GitHub the figure renders as a link to its result file.


DOCS_DIR = REPO / "docs"


RESULTS = DOCS_DIR / "results"


RESULT_FILES = sorted(RESULTS.glob("*.json"))


GUIDE = [REPO / "README.md", *sorted(DOCS_DIR.glob("*.md"))]


QUOTING_PAGES = GUIDE + NOTES


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


@pytest.mark.parametrize("page", QUOTING_PAGES, ids=[str(p.relative_to(REPO)) for p in QUOTING_PAGES])
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


# ---------------------------------------------------------------- the README's printed examples


# The README's printed examples match the tool: the banner's parameter counts are ring8's real ones.


def test_the_banner_example_shows_ring8_s_parameter_counts() -> None:
    text = README.read_text(encoding="utf-8")
    banner = re.search(r"G ([\d,]+) parameters, D ([\d,]+) parameters", text)
    assert banner and "ring8" in text[max(0, banner.start() - 200) : banner.start()]
    dry = gan("train", Path(__file__).resolve().parents[1] / "configs" / "ring8.yaml", "--dry-run").stdout
    assert f"# generator parameters: {banner.group(1)}" in dry
    assert f"# discriminator parameters: {banner.group(2)}" in dry


def test_flags_are_not_shown_as_taking_a_value() -> None:
    help_text = gan("train", "--help").stdout
    assert "<bool>" not in help_text and "--dry-run" in help_text


def test_every_test_file_a_doc_names_exists() -> None:
    """The docs point at the tests behind their guarantees; a moved test file must not leave them pointing nowhere."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    missing = sorted(
        {f"{page.name}: {name}" for page in pages for name in re.findall(r"tests/test_\w+\.py", page.read_text(encoding="utf-8")) if not (REPO / name).is_file()}
    )
    assert not missing, f"docs name test files that do not exist: {missing}"
