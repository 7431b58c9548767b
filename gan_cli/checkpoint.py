"""Atomic checkpoint writes, safe loads, and RNG capture/restore (where a run keeps them: gan_cli.run_dir).

A checkpoint is one `torch.save` dict of plain types that loads with `weights_only=True`: no
pickled modules or classes, so loading a file never executes code from it.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import random
import re
import warnings
import zipfile
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import torch

from gan_cli import __version__, devices, outputs, seeds
from gan_cli.errors import GanError
from gan_cli.run_dir import TEMP_SUFFIX, resolve_checkpoint

FORMAT_VERSION = 2  # 2: the config names its seed_scheme (format 1 runs used the legacy one)


# ---------------------------------------------------------------- RNG state


def capture_rng() -> dict[str, Any]:
    """Every global random state: python, numpy, torch CPU and each CUDA device."""
    version, internal, gauss = random.getstate()
    # the legacy (default) form: a tuple for the global MT19937 state; numpy's stubs type it as a dict too
    np_state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


# ---------------------------------------------------------------- save and load


class _ByteCounter:
    """A write-only file that counts what torch.save writes to it and keeps none of it."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def saved_bytes(obj: dict[str, Any]) -> int:
    """The exact size of torch.save(obj) (what atomic_save writes), counted without holding it."""
    counter = _ByteCounter()
    torch.save(obj, cast(IO[bytes], counter))  # torch.save needs only write() of a file
    return counter.count


def atomic_save(obj: dict[str, Any], path: Path) -> None:
    """torch.save to a temp file in the same directory, fsync, then os.replace: all or nothing.

    The bytes are serialised in memory first and written with os.write, so a full disk or an
    unwritable directory surfaces as an OSError with its errno (torch.save into a failing file
    raises a bare RuntimeError), and the previous file at `path` is never touched.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs.check_regular(path, "checkpoint")
    fd, tmp = outputs.temp_beside(path, TEMP_SUFFIX)
    try:
        try:
            view = buffer.getbuffer()
            while len(view):
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        outputs.sync_directory(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_checkpoint(**parts: Any) -> dict[str, Any]:
    """The checkpoint dict: format_version and package version, then the given parts."""
    return {"format_version": FORMAT_VERSION, "version": __version__, **parts}


REQUIRED_KEYS = ("format_version", "step", "config", "generator", "discriminator")


def upgrade(ckpt: dict[str, Any]) -> dict[str, Any]:
    """Bring an older checkpoint's dict to this format, in place: a format 1 run derived its random
    streams by the offsets of seeds.LEGACY, so its config gets seed_scheme: legacy."""
    if ckpt.get("format_version") == 1 and isinstance(ckpt.get("config"), dict):
        ckpt["config"].setdefault("seed_scheme", seeds.LEGACY)
    return ckpt


def seed_scheme(path: Path) -> str | None:
    """The seed_scheme of the run that wrote checkpoint `path`, read without loading its tensors
    (memory-mapped); None when the file cannot be read that way (load() then says what is wrong)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - any failure is load()'s to report, with its message
        return None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("config"), dict):
        return None
    scheme = upgrade(ckpt)["config"].get("seed_scheme")
    return scheme if isinstance(scheme, str) else None


def nonfinite_tensors(state: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors of a state_dict that hold NaN or inf."""
    return [
        k
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint with weights_only=True; every failure is one GanError."""
    p = resolve_checkpoint(path)
    # its tensors are read whole into memory: a file past what is available (a wrong file, a copy of
    # a far larger run) would swap or wake the OOM killer instead of failing
    with contextlib.suppress(OSError):  # gone meanwhile: torch.load says so below
        devices.check_host_memory(p.stat().st_size, f"{p}: loading this checkpoint")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols; the outcome is reported below
            ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        glob = re.search(r"GLOBAL ([\w.]+)", text)
        if glob:
            raise GanError(
                f"{p}: refused to load: the file asks to import and call Python code ({glob.group(1)}) when "
                f"unpickled; gan-cli loads checkpoints with weights_only=True (tensors and plain data only), "
                f"so this is not a gan-cli checkpoint"
            ) from None
        op = re.search(r"Unsupported operand \d+", text)
        raise GanError(
            f"{p}: not a readable checkpoint: corrupt, or a pickle that tensors-and-plain-data loading refuses"
            + (f" ({op.group(0).lower()})" if op else "")
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        first = str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__
        raise GanError(f"{p}: not a readable checkpoint (truncated or corrupt?): {first}") from None
    except Exception as exc:  # torch raises many types for garbage input
        raise GanError(
            f"{p}: not a readable checkpoint (corrupt, or not a torch.save file): {type(exc).__name__}"
        ) from None
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        raise GanError(f"{p}: not a gan-cli checkpoint (no format_version; a plain state_dict or another tool's file?)")
    version = ckpt["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise GanError(f"{p}: not a gan-cli checkpoint (format_version {version!r} is not a positive integer)")
    if version > FORMAT_VERSION:
        raise GanError(
            f"{p}: checkpoint format {version} is newer than this gan-cli understands "
            f"({FORMAT_VERSION}); upgrade gan-cli"
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise GanError(f"{p}: checkpoint is missing {', '.join(missing)}")
    wrong = [k for k in ("config", "generator", "discriminator") if not isinstance(ckpt[k], dict)]
    if wrong or not isinstance(ckpt["step"], int) or isinstance(ckpt["step"], bool) or ckpt["step"] < 0:
        raise GanError(f"{p}: damaged checkpoint: {', '.join(wrong) or 'step'} has the wrong type")
    upgrade(ckpt)
    for net in ("generator", "discriminator"):
        bad = nonfinite_tensors(ckpt[net])
        if bad:
            raise GanError(
                f"{p}: the {net}'s weights hold NaN or inf ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); "
                f"nothing useful can be drawn or measured from it: use an earlier checkpoint (checkpoints/step_*.pt or best.pt)"
            )
    ckpt["path"] = str(p)
    return ckpt
