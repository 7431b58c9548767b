"""The README documents every config key with its current default."""

from __future__ import annotations

import importlib.util

from helpers import REPO


def test_readme_key_table_matches_the_code() -> None:
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "tools" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert module.render(text) == text, "run: python tools/update_readme.py"


def test_readme_shows_the_two_commands() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
