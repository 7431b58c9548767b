"""The README's printed examples match the tool: the banner's parameter counts are ring8's real ones."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import gan

README = Path(__file__).resolve().parents[1] / "README.md"


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
