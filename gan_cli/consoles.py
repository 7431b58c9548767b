"""The rich consoles the commands print through: text is printed as it is given.

Rich reads `[...]` in printed text and in a table's title and cells as markup by default. The tool
prints what it does not control there (run directories, checkpoint paths, run names, a sweep's
grid values): a run in `x[/y]` raised MarkupError from `gan eval`'s table, after the whole
evaluation, and `[red]` in a name would vanish into a colour. So no console of the tool reads
markup (styles are given as `style=`, never inside text), nor highlights numbers and paths.

Nor does one print narrower than NARROWEST columns: rich takes its width from $COLUMNS, and
COLUMNS=0 (set by some job runners without a terminal) printed `gan eval`'s whole table as
nothing, COLUMNS=1 as one character a line. Below that it prints FALLBACK_WIDTH columns wide, as
rich does where it cannot tell the width, and the terminal wraps.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

NARROWEST = 40
"""Fewest columns a console prints in (the report tables need about 70)."""
FALLBACK_WIDTH = 80


def plain(**options: Any) -> Console:
    """A Console (rich's options: stderr, file, width, ...) that prints text as it is given, at
    least NARROWEST columns wide."""
    console = Console(markup=False, highlight=False, **options)
    if console.width < NARROWEST:
        console.width = FALLBACK_WIDTH
    return console
