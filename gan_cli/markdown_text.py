"""Text from users and files (run names, paths, config values, metric names) in the cells of a
Markdown table, exactly as given: `gan compare`'s compare.md and a sweep's summary.md.

A `|` ends a table cell, even inside a code span, unless written `\\|` (GitHub's tables and
markdown-it take that backslash off before they read the cell); a line break ends the row; a code
span ends at the first run of backticks as long as its fence; and plain text reads `*`, `[`, `<`
and the like as markup. A run directory named `a|b` once split its column in two.
"""

from __future__ import annotations

import re
from typing import Any

MARKUP = frozenset("\\`*_[]<>&|~")
"""The characters plain text escapes: each could start markup (emphasis, a link, HTML, an entity, a
strikethrough) or end the cell."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def one_line(text: Any) -> str:
    """`text` as a string on one line: each line break a space."""
    return _LINE_BREAK.sub(" ", str(text))


def plain(text: Any) -> str:
    """`text` as plain text in a table cell: on one line, each character of MARKUP backslash-escaped."""
    return "".join("\\" + c if c in MARKUP else c for c in one_line(text))


def code(text: Any) -> str:
    """`text` as a code span in a table cell, shown as it is: fenced by one backtick more than its
    longest run of backticks, a space inside the fence where the content starts or ends with a
    backtick or with spaces at both ends (which Markdown would strip), and `|` written `\\|`."""
    s = one_line(text)
    if not s:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s[0] == "`" or s[-1] == "`" or (s[0] == " " and s[-1] == " " and s.strip()) else ""
    return fence + pad + s.replace("|", "\\|") + pad + fence
