"""`gan config`: every config key with its default and meaning (`--markdown`: docs/config.md's table)."""

from __future__ import annotations

import json

from gan_cli.config import field_docs


def config_command(markdown: bool = False) -> str:
    """The listing, as text."""
    lines = ["| key | default | meaning |", "|---|---|---|"] if markdown else []
    for key, default, doc in field_docs():
        shown = default if isinstance(default, str) else json.dumps(default)
        if markdown:
            lines.append(f"| `{key}` | `{shown}` | {doc.replace('|', '&#124;')} |")
        else:
            lines.append(f"{key} = {shown}\n    {doc}")
    return "\n".join(lines)
