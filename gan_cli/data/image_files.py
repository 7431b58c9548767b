"""One image file of a user's folder as pixels in [0, 1], at the file's own bit depth and colour.

PIL opens a file in one of many modes, and `Image.convert` to 8-bit grey or RGB is right for
most of them but not all: a 16-bit grey PNG (mode I;16, or I in older Pillow) converts by
clipping, so every pixel above 255 of 65,535 becomes white; and a palette image (GIF, indexed
PNG) converted to grey loses the colour its palette holds. Here the mode decides: 16-bit grey is
divided by 65,535, a palette is colour when any of its entries is, alpha is dropped.

A folder's images are read with one channel count: 1 when every file is grey, else 3, a grey file
then repeated on all three (as torchvision's ImageFolder reads a grey file among colour photos).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gan_cli.errors import GanError

if TYPE_CHECKING:
    from PIL.Image import Image

GREY_8BIT = ("1", "L", "LA", "La")
"""Modes read as one 8-bit grey channel (alpha dropped)."""
GREY_16BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
"""Modes a 16-bit grey PNG opens as (I in Pillow before 10.4): values 0..65,535."""
PALETTE = ("P", "PA")
"""Palette modes: grey when every palette entry is, else colour."""
COLOUR = ("RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
"""Modes read as three 8-bit RGB channels (alpha dropped, CMYK / YCbCr / LAB / HSV converted)."""

FULL_16BIT = 65535.0

UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, struct.error)
"""What PIL raises for a broken file, by format and by where it breaks (UnidentifiedImageError is an
OSError); with PIL's DecompressionBombError, for a header that claims billions of pixels."""


@dataclass(frozen=True)
class Header:
    """What a file's header tells before its pixels are decoded: width and height (pixels) and
    channels (1 grey, 3 colour)."""

    width: int
    height: int
    channels: int


def _palette_is_grey(im: Image) -> bool:
    palette = im.getpalette() or []  # flat [r, g, b, r, g, b, ...], the entries the file defines
    return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))


def channels_of(im: Image, path: Path) -> int:
    """1 when the opened image `im` is grey, 3 when colour; GanError naming `path` for a mode no
    image file of the accepted kinds should have (32-bit float, for one)."""
    if im.mode in GREY_8BIT or im.mode in GREY_16BIT:
        return 1
    if im.mode in PALETTE:
        return 1 if _palette_is_grey(im) else 3
    if im.mode in COLOUR:
        return 3
    raise GanError(
        f"data.path: {path} has pixel mode {im.mode}, which cannot be read as grey or colour; save it as 8-bit PNG"
    )


def header(path: Path) -> Header:
    """The header of the image at `path`, without decoding its pixels; GanError naming the file
    when it is not a readable image."""
    with _opened(path) as im:
        return Header(im.size[0], im.size[1], channels_of(im, path))


def pixels(path: Path, channels: int) -> np.ndarray:
    """The image at `path` as float32 (H, W) when `channels` is 1, (H, W, 3) when 3, in [0, 1]:
    8-bit values / 255, 16-bit grey / 65,535. A grey file read with 3 channels repeats its grey."""
    with _opened(path) as im:
        own = channels_of(im, path)
        if own == 3 and channels == 1:
            raise GanError(f"data.path: {path} is colour where the folder is read as grey")
        if im.mode in GREY_16BIT:
            values = _sixteen_bit(im, path)
        else:
            values = np.asarray(im.convert("L" if own == 1 else "RGB"), dtype=np.float32) / 255.0
    if own == 1 and channels == 3:
        return np.repeat(values[:, :, None], 3, axis=2)
    return values


def _sixteen_bit(im: Image, path: Path) -> np.ndarray:
    values = np.asarray(im).astype(np.float32)  # I;16 reads as uint16, I as int32
    if values.size and (values.min() < 0 or values.max() > FULL_16BIT):
        raise GanError(
            f"data.path: {path} holds grey values from {values.min():g} to {values.max():g}, beyond 16 bits "
            f"(0..65,535); save it as an 8- or 16-bit PNG"
        )
    return values / FULL_16BIT


@contextmanager
def _opened(path: Path) -> Iterator[Image]:
    """`with _opened(path) as im`: the image opened by PIL; a failure to open or decode it is one
    GanError naming the file."""
    from PIL import Image as pil

    try:
        with pil.open(path) as im:
            yield im
    except (*UNREADABLE, pil.DecompressionBombError) as exc:
        raise GanError(f"data.path: cannot read image {path}: {str(exc) or type(exc).__name__}") from None
