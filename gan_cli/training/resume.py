"""`gan train --resume`: what may change between a run's checkpoint and the resumed config, and
loading the checkpoint's state into the trainer."""

from __future__ import annotations

import math
from typing import Any

from gan_cli import checkpoint, optim
from gan_cli import config as config_mod
from gan_cli.config import Config, to_dict
from gan_cli.data.fingerprint import changes, where
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir
from gan_cli.training.distributed import data_order_note
from gan_cli.training.loop import Trainer, with_lr

FROZEN_ON_RESUME = ("name", "seed", "data", "noise", "generator", "discriminator")
"""Sections whose change would make a resumed run a different experiment."""
FROZEN_TRAIN_KEYS = ("update", "k", "generator_loss", "d_loss_scale", "batch_size", "optimizer")
WHERE_KEYS = ("data.root", "data.download")
"""Where the data lives and whether it may be fetched: a moved dataset is the same experiment."""


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: d}


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(refused, allowed) differences between a checkpoint's config and a resumed one, as 'key: a -> b'."""
    a, b = _flatten(old), _flatten(new)
    refused: list[str] = []
    allowed: list[str] = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        line = f"{key}: {a.get(key)!r} -> {b.get(key)!r}"
        top, _, rest = key.partition(".")
        frozen = key not in WHERE_KEYS and (
            top in FROZEN_ON_RESUME or (top == "train" and rest.split(".")[0] in FROZEN_TRAIN_KEYS)
        )
        (refused if frozen else allowed).append(line)
    return refused, allowed


def _parsed(old: dict[str, Any]) -> Config | None:
    """A checkpoint's config built as a Config (the keys added since it was written at their
    defaults; config/renames.ADDED_KEYS holds those whose default would not repeat it), or None
    where it no longer validates."""
    try:
        return config_mod.from_dict(old)
    except GanError:
        return None


LR_SCHEDULE_KEY = "train.optimizer.lr_schedule."


def _schedule_changes_so_far_equal(
    refused: list[str], allowed: list[str], before: Config | None, cfg: Config, ckpt: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Move lr-schedule changes from refused to allowed when the new schedule sets the same lr as the
    old for every update so far (say, a decay that starts after the checkpoint's epoch): the resumed
    run is then exactly a run of the new config from step 0. A checkpoint config that no longer
    validates (`before` None) keeps the refusal."""
    schedule_lines = [line for line in refused if line.startswith(LR_SCHEDULE_KEY)]
    if not schedule_lines or before is None:
        return refused, allowed
    sched = ckpt.get("schedule")
    updates = int(sched.get("d_updates", ckpt["step"])) if isinstance(sched, dict) else int(ckpt["step"])
    epochs_so_far = math.ceil(float(ckpt.get("epoch", 0.0)))
    started = sched.get("budget_schedule_epoch") if isinstance(sched, dict) else None
    started_in = started if isinstance(started, int) else None  # a schedule keyed to the time budget started then
    old_opt, new_opt = (optim.resolved(c.train.optimizer, started_in) for c in (before, cfg))
    if not optim.schedules_agree(old_opt, new_opt, updates, epochs_so_far):
        return refused, allowed
    note = " (the same lr for every update so far)"
    return [line for line in refused if line not in schedule_lines], allowed + [line + note for line in schedule_lines]


def resume_from_last(trainer: Trainer, cfg: Config, run: RunDir, total: int) -> str:
    """Load run's checkpoints/last.pt into `trainer` after checking the config against it; the note
    for command.txt. GanError when the config changed what defines the experiment, the file is
    damaged, or the run is already past `total` steps."""
    # on the CPU: RNG and generator states must be CPU tensors; load_state_dict moves the weights
    ckpt = checkpoint.load(run.last)
    # a run that rolled back from NaN saved its scaled lr; compare like with like
    schedule = ckpt.get("schedule")
    lr_scale = schedule.get("lr_scale", 1.0) if isinstance(schedule, dict) else 1.0
    expected = (
        with_lr(cfg, cfg.train.optimizer.lr * lr_scale)
        if isinstance(lr_scale, float) and lr_scale != 1.0 and 0 < lr_scale < math.inf  # else: damaged, refused below
        else cfg
    )
    raw = config_mod.migrate(ckpt["config"])
    before = _parsed(raw)  # only real changes are listed, not keys added since the checkpoint
    refused, allowed = config_differences(to_dict(before) if before is not None else raw, to_dict(expected))
    refused, allowed = _schedule_changes_so_far_equal(refused, allowed, before, expected, ckpt)
    if "ema" in ckpt and cfg.train.ema.decay is None:
        refused.append(
            "train.ema.decay: a number -> None: last.pt keeps a moving average of G, and null would drop it from every "
            "later checkpoint (another decay is allowed: the average goes on with it)"
        )
    if refused:
        raise GanError(
            "--resume: the config differs from the checkpoint's in keys that define the experiment (start a new run for these):",
            refused,
        )
    info = ckpt.get("data_info")
    changed = changes(info.get("fingerprint") if isinstance(info, dict) else None, trainer.data_fingerprint)
    if changed:
        raise GanError(
            f"--resume: the data under {where(cfg.data)} is not what the run trained on (its files changed since "
            "the checkpoint); restore them, or start a new run:",
            changed,
        )
    try:
        trainer.load_state_dict(ckpt)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise GanError(
            f"--resume: {run.last} is damaged or does not match its config: {type(exc).__name__}: {first}"
        ) from None
    if trainer.step > total:
        raise GanError(
            f"--resume: the run is at step {trainer.step}, past the budget of {total} steps; "
            f"set a larger budget, e.g. --set train.steps={2 * trainer.step}"
        )
    note = f"resumed from step {trainer.step}" + (": changed " + "; ".join(allowed) if allowed else "")
    return note + data_order_note(trainer, ckpt)
