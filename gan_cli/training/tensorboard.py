"""TensorBoard under RUN_DIR/tb (log.tensorboard): what goes there beside the metrics rows.

`gan train` writes each metrics.jsonl row as scalars (hooks.log_row), the picture of each samples
step as an image (`samples/fixed_noise`, the PNG of samples/step_NNNNNNN.png read back, so image
grids, 1-D density panels and 2-D scatters alike; the training data once as `samples/real`), and
each model-selection check as `selection/valid_parzen` (and its sigma). `gan eval` adds its metrics
as `eval/<metric>` at the checkpoint's step to a run that has a tb/ folder. The tensorboard package
is imported only here and only when asked for: it is an optional extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gan_cli import run_dir as run_dir_mod
from gan_cli import runlog
from gan_cli.run_dir import RunDir

SELECTION_SCALARS = ("valid_parzen", "valid_parzen_raw", "sigma")
"""The numbers of a selection.jsonl row logged as `selection/<name>`."""


def add_picture(writer: Any, tag: str, path: Path, step: int) -> bool:
    """The PNG at `path` as image `tag` at `step`; False (nothing logged) when there is none to read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        return False
    writer.add_image(tag, pixels, step, dataformats="HWC")
    writer.flush()
    return True


def add_selection(writer: Any, row: dict[str, Any]) -> None:
    """One selection.jsonl row as `selection/*` scalars at its step."""
    for key in SELECTION_SCALARS:
        value = row.get(key)
        if runlog.is_finite(value):
            writer.add_scalar(f"selection/{key}", value, row["step"])
    writer.flush()


def log_eval(*results: dict[str, Any]) -> int:
    """`gan eval` results (an eval.json dict, or the rows of --all) as `eval/<metric>` scalars at each
    checkpoint's step, in the tb/ folder of the run the checkpoint belongs to. Only a run trained
    with log.tensorboard has that folder; without it, or without the tensorboard package, nothing is
    written. Best effort: TensorBoard is a view, never a reason for an evaluation to fail. Returns
    the number of scalars written."""
    by_run: dict[Path, list[dict[str, Any]]] = {}
    for result in results:
        if isinstance(result, dict) and result.get("checkpoint"):
            run = run_dir_mod.of_checkpoint(Path(result["checkpoint"]))
            by_run.setdefault(run.path, []).append(result)
    written = 0
    for path, rows in by_run.items():
        run = RunDir(path)
        if not run.tensorboard.is_dir():
            continue
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return written
        try:
            writer = SummaryWriter(str(run.tensorboard))
            try:
                for result in rows:
                    for name, metric in result.get("metrics", {}).items():
                        value = metric.get("value") if isinstance(metric, dict) else None
                        if runlog.is_finite(value):
                            writer.add_scalar(f"eval/{name}", value, int(result["step"]))
                            written += 1
            finally:
                writer.close()
        except OSError:
            continue
    return written
