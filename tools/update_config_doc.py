"""Rewrite the table of config keys in docs/config.md from the code (`gan config --markdown`).

The table sits between the `<!-- keys:start -->` and `<!-- keys:end -->` markers; everything else in
the file is left as it is. Running it twice changes nothing (tests/test_docs.py checks the table).

    python tools/update_config_doc.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the gan_cli of this checkout, even where another one is installed

from gan_cli.cli import app  # noqa: E402

CONFIG_DOC = REPO / "docs" / "config.md"
START, END = "<!-- keys:start -->", "<!-- keys:end -->"


def key_table() -> str:
    """`gan config --markdown`: the header row, the separator and one row per key."""
    result = CliRunner().invoke(app, ["config", "--markdown"])
    if result.exit_code != 0:
        raise RuntimeError(f"gan config --markdown failed: {result.output}")
    return result.output


def render(text: str) -> str:
    """`text` with the key table between the markers replaced by the current one."""
    if START not in text or END not in text:
        raise ValueError(f"{CONFIG_DOC.name} needs the markers {START} and {END}")
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{key_table()}{END}", text, flags=re.S)


if __name__ == "__main__":
    text = CONFIG_DOC.read_text(encoding="utf-8")
    new = render(text)
    CONFIG_DOC.write_text(new, encoding="utf-8")
    sys.stdout.write(f"{CONFIG_DOC.name} updated\n" if new != text else f"{CONFIG_DOC.name} already up to date\n")
