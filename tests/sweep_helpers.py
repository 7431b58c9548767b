"""Helpers of the `gan sweep` tests: a tiny base config and sweep files written to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from helpers import tiny_toy_config

# `gan eval` settings small enough for a fraction of a second per trial (every metric still runs)
TINY_EVAL = {
    "split": "test",
    "generated_samples": 64,
    "critic": {"seeds": 1, "steps": 20, "check_every": 10},
    "density": {"z_grid": 1000, "x_bins": 200, "w1_samples": 32},
}


def tiny_base(steps: int = 12, **log: int) -> dict[str, Any]:
    """helpers.tiny_toy_config with a ReLU D without dropout, `steps` steps, no periodic pictures."""
    return tiny_toy_config(
        discriminator={"hidden": [{"units": 8, "activation": "relu"}], "output_dropout": 0.0},
        train={"steps": steps},
        log={"every": 4, "samples_every": 1_000_000, "checkpoint_every": 6, "keep": 1, "picture_samples": 16, **log},
    )


def write_sweep(folder: Path, config: dict[str, Any] | None = None, **sweep: Any) -> Path:
    """folder/base.yaml (`config`, default the tiny one) and folder/sweep.yaml (base: base.yaml, tiny
    eval, 2 seeds, 1 CPU per trial, then the keys of `sweep`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(yaml.safe_dump(config or tiny_base()), encoding="utf-8")
    spec = {"base": "base.yaml", "seeds": 2, "eval": TINY_EVAL, "resources": {"cpus": 1}, **sweep}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
