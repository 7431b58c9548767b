"""The four states the paper's Figure 1 shows, replayed from the checkpoints of a 1-D run:
  (a) an early checkpoint;
  (b) the middle checkpoint with G frozen and D trained further (D_STEPS discriminator updates of
      Algorithm 1's inner loop): D moves towards D*;
  (c) the same after G_STEPS generator updates against that D;
  (d) the last checkpoint (G's moving average where train.ema is on: the G that `gan eval` measures).
p_g is exact, by change of variables through G (evaluate.density.exact_1d, as `gan eval`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli import checkpoint, data, models, run_dir, toy
from gan_cli.config import TOY_DATASETS, Config, from_dict
from gan_cli.errors import GanError
from gan_cli.evaluate import density
from gan_cli.sample import d_probability
from gan_cli.training.loop import Trainer

D_STEPS = 300  # D updates with G frozen for panel (b)
G_STEPS = 5  # G updates against that D for panel (c)
ARROWS = 21
CPU = torch.device("cpu")


def _trainer(cfg: Config, ckpt: dict[str, Any]) -> Trainer:
    tr = Trainer(cfg, data.load(cfg), CPU)
    tr.load_state_dict(ckpt)
    return tr


def _state(tr: Trainer, target: toy.GaussianMixture, label: str, G: torch.nn.Module | None = None) -> dict[str, Any]:
    """What one panel draws, computed from a trainer's D and G (default: its raw G), both in eval mode."""
    c = tr.cfg.noise
    G = G if G is not None else tr.G
    d = d_probability(tr.D, CPU)
    exact = density.exact_1d(density.numpy_generator(G), c.prior, c.scale, target)
    z_arrows = density.noise_ppf(c.prior, c.scale, (np.arange(ARROWS) + 0.5) / ARROWS)
    with models.eval_mode(G):
        x_arrows = G(torch.from_numpy(z_arrows).float()[:, None]).double().numpy().reshape(-1)
    return {
        "label": label,
        "step": tr.step,
        "exact": exact,
        "z_arrows": z_arrows,
        "x_arrows": x_arrows,
        "d": d,
        "stats": density.summary_1d(exact, d, target),
    }


def figure1_states(run_path: str | Path) -> tuple[list[dict[str, Any]], toy.GaussianMixture, Config]:
    """(states (a)-(d), the target, the config) of the 1-D run at `run_path`; GanError when it is not one."""
    last = run_dir.resolve_checkpoint(run_path)
    run = run_dir.of_checkpoint(last)
    steps = run.step_checkpoints()
    if len(steps) < 2:
        raise GanError(
            f"{run.path} has {len(steps)} periodic checkpoint(s); Figure 1 needs at least 2 besides last.pt "
            "(train with log.checkpoint_every small enough and log.keep >= 3)"
        )
    final = checkpoint.load(last)
    cfg = from_dict(final["config"])
    if cfg.data.name not in TOY_DATASETS or cfg.noise.dim != 1 or (final.get("data_info") or {}).get("dim") != 1:
        raise GanError(f"{run.path}: Figure 1 needs a 1-D run with 1-D noise (configs/gaussian1d.yaml)")
    target = toy.from_config(cfg.data)
    states = []
    tr = _trainer(cfg, checkpoint.load(steps[0][1]))
    states.append(_state(tr, target, "(a) early"))
    tr = _trainer(cfg, checkpoint.load(steps[len(steps) // 2][1]))
    for _ in range(D_STEPS):  # in the nets' training mode, as in training
        tr.discriminator_step()
    states.append(_state(tr, target, f"(b) mid, G frozen, {D_STEPS} D steps"))
    for _ in range(G_STEPS):
        tr.generator_step()
    states.append(_state(tr, target, f"(c) after {G_STEPS} G steps"))
    tr = _trainer(cfg, final)
    states.append(_state(tr, target, "(d) end" + (", G averaged" if tr.ema is not None else ""), tr.eval_G))
    return states, target, cfg
