"""The rich consoles the commands print through: text is printed as it is given.

Rich reads `[...]` in printed text and in a table's title and cells as markup by default. The tool
prints what it does not control there (run directories, checkpoint paths, run names, a sweep's
grid values): a run in `x[/y]` raised MarkupError from `gan eval`'s table, after the whole
evaluation, and `[red]` in a name would vanish into a colour. So no console of the tool reads
markup (styles are given as `style=`, never inside text), nor highlights numbers and paths.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console


def plain(**options: Any) -> Console:
    """A Console (rich's options: stderr, file, width, ...) that prints text as it is given."""
    return Console(markup=False, highlight=False, **options)
