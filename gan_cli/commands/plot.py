"""`gan plot curves RUN_DIR` and `gan plot figure1 --ckpt RUN_DIR`: pictures of a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gan_cli import outputs
from gan_cli.errors import GanError
from gan_cli.figures.curves import plot_curves
from gan_cli.figures.figure1 import draw_figure1
from gan_cli.training.figure1_replay import figure1_states


@dataclass(frozen=True)
class PlotOptions:
    """The options of `gan plot`: which picture, of which run, to which PNG."""

    what: str
    """curves | figure1"""
    run: Path
    out: Path


def plot_command(options: PlotOptions) -> str:
    """Draw the picture; the line to print."""
    if options.what == "curves":
        return f"wrote {plot_curves(options.run, options.out)}"
    if options.what != "figure1":
        raise GanError(f"gan plot {options.what}: use curves or figure1")
    out = options.out
    if out.suffix.lower() != ".png":
        raise GanError(f"--out {out}: use a .png file")
    outputs.check_output(out, "--out")
    states, target, cfg = figure1_states(options.run)
    draw_figure1(states, target, cfg, out)
    stats = states[-1]["stats"]
    return f"wrote {out}; final JSD(p_data || p_g) = {stats['jsd']:.4f} nats, max |D - 1/2| = {stats['max_abs_d_minus_half']:.4f}"
