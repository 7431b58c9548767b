"""Property: whatever bytes stand in a file the tool reads (npz data, gzip IDX, images, checkpoints),
loading it gives data, or one GanError naming the file; never another exception."""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
import torch
from helpers import tiny_toy_config, write_idx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan_cli import checkpoint, config, data
from gan_cli.errors import GanError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
WORKDIR = Path(tempfile.mkdtemp(prefix="gan-file-fuzz-"))


def _valid_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    return buf.getvalue()


def _valid_gz_idx() -> bytes:
    path = write_idx(WORKDIR / "seed-idx", np.zeros((30, 4, 4), np.uint8), gz=True)
    return path.read_bytes()


def _valid_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (6, 6), 128).save(buf, format="PNG")
    return buf.getvalue()


def _valid_checkpoint() -> bytes:
    buf = io.BytesIO()
    torch.save(checkpoint.make_checkpoint(step=1, config={}, generator={"w": torch.zeros(2)}, discriminator={"w": torch.zeros(2)}), buf)
    return buf.getvalue()


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and the valid file with a stretch overwritten, cut short or extended."""
    n = len(valid)
    flipped = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=16)).map(lambda a: valid[: a[0]] + a[1] + valid[a[0] + len(a[1]) :])
    cut = st.integers(0, n).map(lambda k: valid[:k])
    extended = st.binary(max_size=64).map(lambda b: valid + b)
    return st.one_of(st.binary(max_size=256), flipped, cut, extended)


def _loads_or_one_error(load, path: Path | None = None) -> None:
    """`load()` succeeds or raises a one-line GanError (naming `path`, when given)."""
    try:
        load()
    except GanError as exc:
        text = str(exc)
        if path is not None:
            assert str(path) in text or path.name in text, text
        assert "\n" not in text.strip()


@FUZZ
@given(mutations(_valid_npz()))
def test_npz_bytes(content: bytes) -> None:
    path = WORKDIR / "d.npz"
    path.write_bytes(content)
    cfg = config.from_dict(tiny_toy_config(data={"name": "npz", "path": str(path), "train_range": None}, generator={"output_activation": "linear"}))
    _loads_or_one_error(lambda: data.load(cfg), path)


@FUZZ
@given(mutations(_valid_gz_idx()))
def test_gzip_idx_bytes(content: bytes) -> None:
    raw = WORKDIR / "idx" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((8, 4, 4), np.uint8))
    cfg = config.from_dict(tiny_toy_config(data={"name": "mnist", "root": str(WORKDIR / "idx"), "download": False, "train_range": [0, 20], "valid_range": [20, 30]}, generator={"output_activation": "sigmoid"}, train={"batch_size": 4, "steps": 1}))
    _loads_or_one_error(lambda: data.load(cfg))


@FUZZ
@given(mutations(_valid_png()))
def test_image_file_bytes(content: bytes) -> None:
    folder = WORKDIR / "imgs"
    folder.mkdir(exist_ok=True)
    Image.new("L", (6, 6)).save(folder / "a.png")
    path = folder / "b.png"
    path.write_bytes(content)
    cfg = config.from_dict(tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"output_activation": "sigmoid"}, train={"batch_size": 1, "steps": 1}))
    _loads_or_one_error(lambda: data.load(cfg))


@FUZZ
@given(mutations(_valid_checkpoint()))
def test_checkpoint_bytes(content: bytes) -> None:
    path = WORKDIR / "c.pt"
    path.write_bytes(content)
    _loads_or_one_error(lambda: checkpoint.load(path), path)


def test_the_seeds_are_valid_files() -> None:
    """The mutations start from files that load, so the properties test damage, not only garbage."""
    assert gzip.decompress(_valid_gz_idx())[:3] == b"\x00\x00\x08"
    path = WORKDIR / "ok.pt"
    path.write_bytes(_valid_checkpoint())
    assert checkpoint.load(path)["step"] == 1
