"""A user's image folder read at each file's own bit depth and colour (gan_cli.data.image_files):
16-bit grey PNGs, palettes, alpha, and grey files among colour ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_toy_config
from PIL import Image

from gan_cli import config, data
from gan_cli.data import image_files
from gan_cli.data.sources import load_folder
from gan_cli.errors import GanError


def _folder_config(folder: Path) -> config.Config:
    return config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"output_activation": "sigmoid"}))


def _ramp16() -> np.ndarray:
    return (np.arange(64, dtype=np.uint32).reshape(8, 8) * 1000).astype(np.uint16)  # 0 .. 63,000 of 65,535


def test_a_16_bit_grey_png_keeps_its_depth(tmp_path: Path) -> None:
    """Converted to 8-bit grey by PIL, every pixel above 255 of 65,535 became white (1.0)."""
    Image.fromarray(_ramp16()).save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode in image_files.GREY_16BIT
    images, labels = load_folder(_folder_config(tmp_path).data)
    assert images.shape == (1, 1, 8, 8) and labels is None
    np.testing.assert_allclose(images[0, 0], _ramp16() / 65535.0, rtol=1e-6)
    assert images.max() == pytest.approx(63000 / 65535)


def test_a_colour_palette_stays_colour(tmp_path: Path) -> None:
    """A GIF or indexed PNG with a colour palette was read as grey: its red and blue became two greys."""
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:4, :, 0] = 255  # red top
    rgb[4:, :, 2] = 255  # blue bottom
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "a.gif")
    assert Image.open(tmp_path / "a.gif").mode == "P"
    images, _ = load_folder(_folder_config(tmp_path).data)
    assert images.shape == (1, 3, 8, 8)
    np.testing.assert_array_equal(images[0].transpose(1, 2, 0), rgb / 255.0)


def test_a_grey_palette_is_one_channel(tmp_path: Path) -> None:
    grey = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    Image.fromarray(grey).convert("P").save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode == "P"
    images, _ = load_folder(_folder_config(tmp_path).data)
    assert images.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(images[0, 0], grey / 255.0, rtol=1e-6)


def test_grey_with_alpha_is_grey(tmp_path: Path) -> None:
    grey = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    Image.fromarray(grey).convert("LA").save(tmp_path / "a.png")
    Image.fromarray(grey).save(tmp_path / "b.png")
    images, _ = load_folder(_folder_config(tmp_path).data)
    assert images.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(images[0], images[1])


def test_grey_files_among_colour_ones_repeat_their_grey(tmp_path: Path) -> None:
    """A folder of colour photos with a few grey ones (8- and 16-bit) loads as colour, where it was
    refused as 'differ in channels'; classes from the sub-folders as before."""
    for sub in ("cats", "dogs"):
        (tmp_path / sub).mkdir()
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "cats" / "a.png")
    Image.fromarray(_ramp16()).save(tmp_path / "cats" / "b.png")
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "dogs" / "c.bmp")
    images, labels = load_folder(_folder_config(tmp_path).data)
    assert images.shape == (3, 3, 8, 8) and labels is not None and labels.tolist() == [0, 0, 1]
    np.testing.assert_allclose(images[0].transpose(1, 2, 0), rgb / 255.0, rtol=1e-6)  # alpha dropped
    for c in range(3):
        np.testing.assert_allclose(images[1, c], _ramp16() / 65535.0, rtol=1e-6)
        np.testing.assert_allclose(images[2, c], rgb[:, :, 0] / 255.0, rtol=1e-6)


def test_sizes_are_checked_from_the_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder whose sizes differ is refused before any pixel is decoded (a folder of photos
    takes minutes to decode), naming one file of each size."""
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("RGB", (9, 8)).save(tmp_path / "b.png")

    def decoded(*args: object) -> np.ndarray:
        raise AssertionError("decoded before the sizes were checked")

    monkeypatch.setattr(image_files, "pixels", decoded)
    with pytest.raises(GanError, match=r"differ in size \(a.png 8x8, b.png 9x8\); resize them"):
        data.load(_folder_config(tmp_path))


def test_a_mode_no_image_of_these_kinds_should_have_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("L", (4, 4)).save(path)
    im = Image.new("F", (4, 4))
    with pytest.raises(GanError, match=r"a.png has pixel mode F, which cannot be read as grey or colour"):
        image_files.channels_of(im, path)


def test_grey_beyond_16_bits_is_one_message() -> None:
    """Mode I holds 32-bit integers (a 16-bit PNG opens as I in Pillow before 10.4): values past
    16 bits are refused, not scaled into a range they do not fit."""
    beyond = Image.fromarray(np.full((4, 4), 70000, dtype=np.int32), mode="I")
    with pytest.raises(GanError, match=r"a.png holds grey values from 70000 to 70000, beyond 16 bits"):
        image_files._sixteen_bit(beyond, Path("a.png"))
    within = Image.fromarray(np.full((4, 4), 65535, dtype=np.int32), mode="I")
    assert image_files._sixteen_bit(within, Path("a.png")).max() == 1.0
