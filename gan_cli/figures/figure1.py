"""`gan plot figure1`: the paper's Figure 1 drawn from the checkpoints of a 1-D run.

Four panels, as in the paper: p_data (black dotted), p_g (green solid), D (blue dashed) and
D* = p_data / (p_data + p_g) (grey), over the z line (noise, uniform) with arrows z -> x = G(z).
  (a) an early checkpoint;
  (b) the middle checkpoint with G frozen and D trained further (D_STEPS discriminator updates of
      Algorithm 1's inner loop): D moves towards D*;
  (c) the same after G_STEPS generator updates against that D: G(z) flows towards where D is high;
  (d) the last checkpoint, where p_g should be close to p_data and D close to 1/2.
p_g is the numerical change of variables of gan_cli.evaluate.density1d (not a coarse KDE), and the final
JSD(p_data || p_g) and max |D - 1/2| (over p_data's +-3 std) are returned and printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from gan_cli import checkpoint, data, toy  # noqa: E402
from gan_cli.config import TOY_DATASETS, Config, from_dict  # noqa: E402
from gan_cli.errors import GanError  # noqa: E402
from gan_cli.evaluate import density1d
from gan_cli.sample import d_probability  # noqa: E402

D_STEPS = 300  # D updates with G frozen for panel (b)
G_STEPS = 5  # G updates against that D for panel (c)
ARROWS = 21


def _trainer(cfg: Config, ckpt: dict[str, Any]) -> Any:
    from gan_cli.training.loop import Trainer

    tr = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    tr.load_state_dict(ckpt)
    tr.G.eval()
    tr.D.eval()
    return tr


@torch.no_grad()
def _state(tr: Any, target: toy.GaussianMixture, label: str) -> dict[str, Any]:
    """What one panel draws, computed from a trainer's current G and D."""
    c = tr.cfg.noise
    tr.G.eval()
    z_fine = density1d.noise_quantiles(100_000, 1, c.prior, c.scale)
    x_fine = tr.G(z_fine).double().numpy().reshape(-1)
    z_arrows = density1d.noise_quantiles(ARROWS, 1, c.prior, c.scale)
    stats = density1d.diagnostics(tr.G, d_probability(tr.D, torch.device("cpu")), target, c.prior, c.scale)
    return {
        "label": label,
        "step": tr.step,
        "x_fine": x_fine,
        "z_arrows": z_arrows.numpy().reshape(-1),
        "x_arrows": tr.G(z_arrows).double().numpy().reshape(-1),
        "d": d_probability(tr.D, torch.device("cpu")),
        "stats": stats,
    }


def _panel(ax: Any, axz: Any, st: dict[str, Any], target: toy.GaussianMixture, xs: np.ndarray, z_scale: float) -> None:
    s = float(target.stds.max())
    p_data = target.log_prob(torch.from_numpy(xs)[:, None]).exp().numpy()
    p_g = density1d.density_on_grid(st["x_fine"], xs, bandwidth=s / 20)
    d = st["d"](xs)
    d_star = p_data / np.maximum(p_data + p_g, 1e-300)
    ax.plot(xs, p_data, "k:", lw=2, label=r"$p_{data}$")
    ax.plot(xs, p_g, "g-", lw=2, label=r"$p_g$")
    ax.plot(xs, d, "b--", lw=2, label="D(x)")
    ax.plot(xs, d_star, color="0.55", lw=1, label=r"$D^* = p_{data}/(p_{data}+p_g)$")
    ax.set_ylim(0, max(1.05, float(p_data.max()) * 1.1, min(float(p_g.max()), 3.0) * 1.05))
    ax.set_xlim(xs[0], xs[-1])
    ax.set_title(f"{st['label']} (step {st['step']})\nJSD {st['stats']['jsd']:.3f} nats, max|D-1/2| {st['stats']['max_abs_d_minus_half']:.2f}", fontsize=9)
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


def figure1(run_dir: str | Path, out: str | Path) -> tuple[Path, dict[str, float]]:
    """Draw Figure 1 for the 1-D run in `run_dir` into `out`; returns the PNG path and the final stats."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise GanError(f"--out {out}: use a .png file")
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
    for _ in range(D_STEPS):
        tr.discriminator_step()
    states.append(_state(tr, target, f"(b) mid, G frozen, {D_STEPS} D steps"))
    for _ in range(G_STEPS):
        tr.generator_step()
    states.append(_state(tr, target, f"(c) after {G_STEPS} G steps"))
    tr = _trainer(cfg, final)
    states.append(_state(tr, target, "(d) end"))

    mu, s = float(target.means[:, 0].mean()), float(target.stds.max())
    lo, hi = mu - 4 * s, mu + 4 * s
    for st in states:
        lo = min(lo, float(np.percentile(st["x_fine"], 0.5)))
        hi = max(hi, float(np.percentile(st["x_fine"], 99.5)))
    pad = 0.05 * (hi - lo)
    xs = np.linspace(lo - pad, hi + pad, 1200)

    fig = plt.figure(figsize=(15, 4.6))
    gs = fig.add_gridspec(2, 4, height_ratios=[3, 1], hspace=0.05, wspace=0.15)
    for i, st in enumerate(states):
        ax = fig.add_subplot(gs[0, i])
        axz = fig.add_subplot(gs[1, i], sharex=ax)
        _panel(ax, axz, st, target, xs, cfg.noise.scale)
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.06))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=70, bbox_inches="tight")
    except OSError as exc:
        raise GanError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return out, states[-1]["stats"]


figure1_command = figure1
