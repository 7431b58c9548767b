"""The reference feature networks shipped in the package: one DigitCNN per labelled dataset, trained
once on the dataset's official files and pinned by the sha256 of its file, so an FID means the same
on every machine (a locally trained network's weights differ by machine, and so do its FIDs).

gan_cli/evaluate/reference/<data>-digitcnn-<sha12>.pt holds {"info", "state_dict"} (weights stored
as float16, computed in float32); <same name>.json repeats its info for readers. Loading reads the
file once, checks its bytes against the sha256 pinned in PINNED (a modified or damaged file is
refused), then unpickles it with weights_only=True. `eval.features.network: reference` (default)
uses it; `local` uses the network trained on this machine's data (feature_cache).
"""

from __future__ import annotations

import hashlib
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from gan_cli.errors import GanError
from gan_cli.evaluate import feature_net as fn

FOLDER = "reference"
STORE_DTYPE = torch.float16  # halves the file; float16 weights keep MNIST's test accuracy (recorded in the info)

# data.name -> (file under gan_cli/evaluate/reference, its sha256): the shipped networks.
PINNED: dict[str, tuple[str, str]] = {
    "mnist": (
        "mnist-digitcnn-4f0d66e9bdea.pt",
        "4f0d66e9bdead3464d9ef20f1a0fd06e889d102608da28cecd0fa21c2ae9d6cf",
    ),
    "digits": (
        "digits-digitcnn-c180c74d2c8b.pt",
        "c180c74d2c8b0e46bf55a158a93b487db4354101e1729c97b3e0fd8801d30350",
    ),
}
# fashion-mnist: none shipped yet (its files were not at hand when these were built): a local one is trained

# which shipped network serves a dataset (stacked-mnist classifies each channel with MNIST's)
SERVES = {"mnist": "mnist", "stacked-mnist": "mnist", "digits": "digits", "fashion-mnist": "fashion-mnist"}


def for_data(name: str) -> str | None:
    """The shipped network's key for data.name, None where none is shipped."""
    key = SERVES.get(name)
    return key if key in PINNED else None


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def path_of(key: str) -> Path:
    """The shipped file of network `key` (a Path inside the installed package)."""
    return Path(str(resources.files("gan_cli.evaluate") / FOLDER / PINNED[key][0]))


def load_file(path: Path, expected_sha256: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(info, float32 state dict) of a reference file whose bytes hash to `expected_sha256`."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise GanError(
            f"the reference feature network {path} cannot be read ({exc.strerror or exc}): reinstall gan-cli, "
            "or set eval.features.network: local"
        ) from None
    got = sha256(blob)
    if got != expected_sha256:
        raise GanError(
            f"the reference feature network {path} has sha256 {got[:12]}, not the pinned {expected_sha256[:12]}: "
            "the file was modified or damaged; reinstall gan-cli (or set eval.features.network: local)"
        )
    try:
        saved = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        info, state = dict(saved["info"]), dict(saved["state_dict"])
    except Exception as exc:  # unpickling errors come in many types
        raise GanError(f"{path}: not a readable reference network ({type(exc).__name__}): reinstall gan-cli") from None
    if info.get("arch") != fn.ARCH or fn.weights_hash(state) != info.get("weights_sha256"):
        raise GanError(f"{path}: written for another network (arch {info.get('arch')}): reinstall gan-cli")
    return info, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_model(key: str) -> tuple[fn.DigitCNN, Path, dict[str, Any]]:
    """The shipped network `key` in eval mode, its file and its info (with network/file/file_sha256)."""
    if key not in PINNED:
        raise GanError(f"no reference feature network is shipped for {key} (shipped: {', '.join(PINNED) or 'none'})")
    name, digest = PINNED[key]
    path = path_of(key)
    info, state = load_file(path, digest)
    model = fn.DigitCNN(tuple(info["shape"]), int(info["classes"]))
    model.load_state_dict(state)
    return model.eval(), path, {**info, "network": "reference", "file": name, "file_sha256": digest}


def write(
    model: fn.DigitCNN, info: dict[str, Any], folder: Path, x_test: torch.Tensor, y_test: torch.Tensor
) -> tuple[Path, dict[str, Any]]:
    """Store `model` as a reference file (weights in STORE_DTYPE) under `folder`, with its JSON:
    the info gains the stored weights' hash and their test accuracy. Returns (path, info + file_sha256)."""
    state = {
        k: (v.detach().cpu().to(STORE_DTYPE) if v.is_floating_point() else v.detach().cpu().clone())
        for k, v in model.state_dict().items()
    }
    stored = fn.DigitCNN(model.shape, int(info["classes"]))
    stored.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    info = {
        **info,
        "weights_sha256": fn.weights_hash(state),
        "weights_dtype": str(STORE_DTYPE).removeprefix("torch."),
        "test_accuracy_float32": info["test_accuracy"],
        "test_accuracy": fn.accuracy(stored, x_test, y_test),
    }
    buf = io.BytesIO()
    torch.save({"info": info, "state_dict": state}, buf)
    blob = buf.getvalue()
    digest = sha256(blob)
    path = folder / f"{info['data']}-digitcnn-{digest[:12]}.pt"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    record = {**info, "file": path.name, "file_sha256": digest}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path, record
