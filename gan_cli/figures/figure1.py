"""`gan plot figure1`: the paper's Figure 1 drawn from the checkpoints of a 1-D run.

Four panels, as in the paper, each the 1-D panel of figures.density1d (p_data black dotted, p_g
green solid, D blue dashed, D* = p_data / (p_data + p_g) red), over the z line (noise) with
arrows z -> x = G(z):
  (a) an early checkpoint;
  (b) the middle checkpoint with G frozen and D trained further (D_STEPS discriminator updates of
      Algorithm 1's inner loop): D moves towards D*;
  (c) the same after G_STEPS generator updates against that D: G(z) flows towards where D is high;
  (d) the last checkpoint, where p_g should be close to p_data and D close to 1/2; with train.ema on,
      p_g is that of G's moving average, the G that `gan eval` measures (panels (a)-(c) show the
      game itself, so the raw G that D plays against).
p_g is exact, by change of variables through G (evaluate.density.exact_1d, as `gan eval`), and the
final JSD(p_data || p_g) and max |D - 1/2| (over p_data's +-3 std) are returned and printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_cli import checkpoint, data, models, outputs, toy
from gan_cli.config import TOY_DATASETS, Config, from_dict
from gan_cli.errors import GanError
from gan_cli.evaluate import density
from gan_cli.figures.density1d import p_data_on, plot_density_1d, x_grid
from gan_cli.figures.files import save_figure
from gan_cli.sample import d_probability

D_STEPS = 300  # D updates with G frozen for panel (b)
G_STEPS = 5  # G updates against that D for panel (c)
ARROWS = 21
CPU = torch.device("cpu")


def _trainer(cfg: Config, ckpt: dict[str, Any]) -> Any:
    from gan_cli.training.loop import Trainer

    tr = Trainer(cfg, data.load(cfg), CPU)
    tr.load_state_dict(ckpt)
    return tr


def _state(tr: Any, target: toy.GaussianMixture, label: str, G: torch.nn.Module | None = None) -> dict[str, Any]:
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


def _panel(ax: Any, axz: Any, st: dict[str, Any], target: toy.GaussianMixture, xs: np.ndarray, z_scale: float, i: int) -> tuple[list[Any], list[str]]:
    twin, handles, labels = plot_density_1d(ax, xs, p_data_on(target, xs), st["exact"].pushforward.density(xs), st["d"](xs), r"$p_g$, exact")
    ax.set_xlabel("")
    if i > 0:  # density scales differ per panel; D's axis is [0, 1] in all, labelled on the last
        ax.set_ylabel("")
    if i < 3:
        twin.set_ylabel("")
        twin.tick_params(labelright=False)
    ax.set_title(f"{st['label']} (step {st['step']})\nJSD {st['stats']['jsd']:.4f} nats, max|D-1/2| {st['stats']['max_abs_d_minus_half']:.3f}", fontsize=9)
    ax.tick_params(labelbottom=False)
    # the z line below, mapped onto the middle of the x axis; arrows z -> x = G(z)
    lo, hi = xs[0], xs[-1]
    mid, half = 0.5 * (lo + hi), 0.35 * (hi - lo)
    zx = mid + st["z_arrows"] / z_scale * half
    axz.plot([mid - half, mid + half], [0, 0], "k-", lw=1)
    axz.plot([lo, hi], [1, 1], "k-", lw=1)
    for a, b in zip(zx, st["x_arrows"]):
        if lo <= b <= hi:
            axz.annotate("", xy=(b, 1), xytext=(a, 0), arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.7})
    axz.set_xlim(lo, hi)
    axz.set_ylim(-0.15, 1.1)
    axz.set_yticks([0, 1], ["z", "x"])
    axz.tick_params(left=False)
    for side in ("top", "right", "left"):
        axz.spines[side].set_visible(False)
    return handles, labels


def figure1(run_dir: str | Path, out: str | Path) -> tuple[Path, dict[str, float]]:
    """Draw Figure 1 for the 1-D run in `run_dir` into `out`; returns the PNG path and the final stats."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise GanError(f"--out {out}: use a .png file")
    outputs.check_output(out, "--out")
    last = checkpoint.resolve(run_dir)
    rdir = checkpoint.run_dir_of(last)
    steps = checkpoint.list_steps(rdir)
    if len(steps) < 2:
        raise GanError(
            f"{rdir} has {len(steps)} periodic checkpoint(s); Figure 1 needs at least 2 besides last.pt "
            "(train with log.checkpoint_every small enough and log.keep >= 3)"
        )
    final = checkpoint.load(last)
    cfg = from_dict(final["config"])
    if cfg.data.name not in TOY_DATASETS or cfg.noise.dim != 1 or (final.get("data_info") or {}).get("dim") != 1:
        raise GanError(f"{rdir}: Figure 1 needs a 1-D run with 1-D noise (configs/gaussian1d.yaml)")
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

    xs = x_grid(target, [tuple(st["exact"].pushforward.quantiles([0.005, 0.995])) for st in states], 1200)

    fig = plt.figure(figsize=(15, 4.6))
    gs = fig.add_gridspec(2, 4, height_ratios=[3, 1], hspace=0.05, wspace=0.18)
    # the drawn z line spans the uniform noise's interval, or the outermost arrows of normal noise
    z_extent = cfg.noise.scale if cfg.noise.prior == "uniform" else float(np.abs(states[0]["z_arrows"]).max())
    for i, st in enumerate(states):
        ax = fig.add_subplot(gs[0, i])
        axz = fig.add_subplot(gs[1, i], sharex=ax)
        handles, labels = _panel(ax, axz, st, target, xs, z_extent, i)
        if i == 0:
            fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.06))
    save_figure(fig, out, dpi=70, bbox_inches="tight")
    return out, states[-1]["stats"]


figure1_command = figure1
