"""Checks that involve more than one key (or what torch would refuse later), and the seed's range."""

from __future__ import annotations

import math

from gan_cli.config.schema import TOY_DATASETS, Config
from gan_cli.errors import GanError, shown

SEED_MAX = 2**32 - 1
"""Largest seed: numpy's limit, and small enough that every offset seed derived from it fits torch's."""


def semantic_checks(cfg: Config, errors: list[str]) -> None:
    """Checks that involve more than one key."""
    d = cfg.data
    for key in ("train_range", "valid_range", "test_range"):
        rng = getattr(d, key)
        if rng is not None and len(rng) == 2 and not (0 <= rng[0] < rng[1]):
            errors.append(f"data.{key}: needs 0 <= start < end, got {rng}")
    if d.name == "mixture":
        if not d.means:
            errors.append("data.means: the mixture dataset needs a list of component means")
        else:
            dims = {len(m) for m in d.means}
            if len(dims) != 1 or 0 in dims:
                errors.append("data.means: every component mean needs the same, non-zero number of coordinates")
            if d.weights is not None and len(d.weights) != len(d.means):
                errors.append(f"data.weights: {len(d.weights)} weights for {len(d.means)} components")
    if d.weights is not None and (any(w < 0 or not math.isfinite(w) for w in d.weights) or sum(d.weights) <= 0):
        errors.append("data.weights: must be non-negative with a positive sum")
    if d.name in ("npz", "folder") and not d.path:
        errors.append(f"data.path: data.name {d.name} needs a path")
    if cfg.generator.output_bias == "marginals" and d.name in TOY_DATASETS:
        errors.append("generator.output_bias: 'marginals' needs image data in [0, 1] (sigmoid output)")
    if cfg.generator.output_bias == "marginals" and cfg.generator.output_activation != "sigmoid":
        errors.append(
            "generator.output_bias: 'marginals' is the logit of the mean pixel and needs output_activation sigmoid"
        )
    if cfg.train.steps is None and cfg.train.epochs is None:
        errors.append("train: set a budget, train.steps or train.epochs")
    _optimizer_checks(cfg, errors)
    name = cfg.name
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0") or name != name.strip():
        errors.append(
            f"name: {shown(name)} must be a plain file name (no '/', '\\', leading or trailing spaces, '.' or '..'): the run directory is runs/<name>-<time>"
        )
    for key, seed in (("seed", cfg.seed), ("eval.seed", cfg.eval.seed), ("data.split_seed", d.split_seed)):
        if seed > SEED_MAX:
            errors.append(f"{key}: must be at most {SEED_MAX} (2^32 - 1), got {seed}")
    if cfg.train.cuda_graphs and cfg.train.compile:
        errors.append("train.cuda_graphs: cannot be combined with train.compile; choose one")
    if cfg.train.cuda_graphs and not (cfg.train.optimizer.name == "sgd" and cfg.train.optimizer.sgd_form == "paper"):
        errors.append(
            "train.cuda_graphs: needs train.optimizer.name sgd with sgd_form paper (its lr and momentum live on the device)"
        )
    if cfg.train.cuda_graphs and cfg.device in ("cpu", "mps"):
        errors.append(
            f"train.cuda_graphs: needs a CUDA device, but device is {cfg.device}; set train.cuda_graphs: false"
        )
    dev = cfg.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        errors.append(f"device: {shown(dev)} is not one of auto, cpu, cuda, cuda:N, mps")


def _optimizer_checks(cfg: Config, errors: list[str]) -> None:
    """What torch.optim would refuse, or a schedule that contradicts the lr, named by key before anything runs."""
    opt, key = cfg.train.optimizer, "train.optimizer"
    if opt.name == "adam":
        for i, beta in enumerate(opt.betas):
            if not 0.0 <= beta < 1.0:
                errors.append(f"{key}.betas[{i}]: must lie in [0, 1), got {shown(beta)}")
    sched = opt.lr_schedule
    if sched.name == "exponential" and sched.min_lr > opt.lr:
        errors.append(
            f"{key}.lr_schedule.min_lr: the floor {sched.min_lr:g} lies above {key}.lr {opt.lr:g}, so every update "
            f"would run at the floor; lower min_lr (paper: 1e-6 under lr 0.1)"
        )
    if sched.name == "linear" and sched.end_epoch <= sched.start_epoch:
        errors.append(
            f"{key}.lr_schedule.end_epoch: {sched.end_epoch} must come after start_epoch {sched.start_epoch} "
            f"(the lr moves from lr0 in epoch start_epoch to final * lr0 in epoch end_epoch)"
        )
    if sched.start_at_budget is not None and sched.name != "linear":
        errors.append(
            f"{key}.lr_schedule.start_at_budget: only a linear schedule starts by the time budget (name: linear)"
        )
    elif sched.start_at_budget is not None and cfg.train.max_minutes is None:
        errors.append(
            f"{key}.lr_schedule.start_at_budget: a fraction of train.max_minutes, which is not set; set train.max_minutes, "
            "or start the schedule by start_epoch (start_at_budget: null)"
        )


def check_seed(seed: int, option: str) -> int:
    """A command-line seed: 0 <= seed <= 2^32 - 1, or a GanError naming the option."""
    if not 0 <= seed <= SEED_MAX:
        raise GanError(f"{option} {seed}: must be between 0 and {SEED_MAX} (2^32 - 1)")
    return seed
