"""Writing a picture: every PNG the tool makes goes through here, so none is ever written over a
run's own files or through a link, and none is left half-written (see gan_cli.outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from PIL import Image

from gan_cli import outputs


def save_figure(fig: Any, path: Path, option: str = "--out", **savefig_args: Any) -> Path:
    """Save a matplotlib figure as `path` (atomically) and close it."""
    try:
        return outputs.write_atomic(path, lambda tmp: fig.savefig(tmp, **savefig_args), option)
    finally:
        plt.close(fig)


def literal(text: str) -> str:
    """`text` (a run's name, a label from a file) shown as it is in a picture's title or legend:
    matplotlib reads the text between two `$` as TeX, and one it cannot parse (`$\\x$`) failed the
    whole picture."""
    return text.replace("$", r"\$")


def save_image(image: Image.Image, path: Path, option: str = "--out") -> Path:
    """Save a PIL image as `path` (atomically; the format follows the suffix)."""
    return outputs.write_atomic(path, image.save, option)
