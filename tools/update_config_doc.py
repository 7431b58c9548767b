"""Rewrite the tables of config keys in docs/config.md from the code: every key (`gan config
--markdown`) and the renamed keys (`gan_cli.config.RENAMES`).

The tables sit between the `<!-- keys:start -->` and `<!-- keys:end -->` markers and between
`<!-- renames:start -->` and `<!-- renames:end -->`; everything else in the file is left as it is.
Running it twice changes nothing (tests/test_docs.py checks the tables).

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
from gan_cli.config import RENAMES  # noqa: E402

CONFIG_DOC = REPO / "docs" / "config.md"
START, END = "<!-- keys:start -->", "<!-- keys:end -->"
RENAMES_START, RENAMES_END = "<!-- renames:start -->", "<!-- renames:end -->"


def key_table() -> str:
    """`gan config --markdown`: the header row, the separator and one row per key."""
    result = CliRunner().invoke(app, ["config", "--markdown"])
    if result.exit_code != 0:
        raise RuntimeError(f"gan config --markdown failed: {result.output}")
    return result.output


def renames_table() -> str:
    """One row per renamed key, old -> new, in the order of the table in gan_cli/config/renames.py."""
    rows = "".join(f"| `{old}` | `{new}` |\n" for old, new in RENAMES.items())
    return "| old key | new key |\n|---|---|\n" + rows


def _between(text: str, start: str, end: str, table: str) -> str:
    if start not in text or end not in text:
        raise ValueError(f"{CONFIG_DOC.name} needs the markers {start} and {end}")
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}{end}", text, flags=re.S)


def render(text: str) -> str:
    """`text` with the tables between the markers replaced by the current ones."""
    return _between(_between(text, START, END, key_table()), RENAMES_START, RENAMES_END, renames_table())


if __name__ == "__main__":
    text = CONFIG_DOC.read_text(encoding="utf-8")
    new = render(text)
    CONFIG_DOC.write_text(new, encoding="utf-8")
    sys.stdout.write(f"{CONFIG_DOC.name} updated\n" if new != text else f"{CONFIG_DOC.name} already up to date\n")
