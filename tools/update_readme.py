"""Rewrite the README's table of config keys from the code (`gan config --markdown`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from gan_cli.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- keys:start -->", "<!-- keys:end -->"


def key_table() -> str:
    return CliRunner().invoke(app, ["config", "--markdown"]).output  # header row included


def render(text: str) -> str:
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{key_table()}{END}", text, flags=re.S)


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    new = render(text)
    README.write_text(new, encoding="utf-8")
    sys.stdout.write("README.md updated\n" if new != text else "README.md already up to date\n")
