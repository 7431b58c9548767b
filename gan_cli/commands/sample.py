"""`gan sample`: samples from a trained generator as a picture or raw rows, or the paper's Figure 2
(`--nearest`) or Figure 3 (`--interpolate`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from gan_cli import devices, outputs, run_dir
from gan_cli.errors import GanError, Stopped
from gan_cli.figures.paper_grids import save_interpolation_figure, save_nearest_figure
from gan_cli.figures.samples import check_picture_size, draw
from gan_cli.sample import Loaded, generate, load_models, output_dim, save_raw

MAX_SAMPLES = 10_000_000
"""Most samples one command draws (about 31 GB of MNIST rows in float32): far beyond any protocol's need."""
MAX_COLS = 1_000


@dataclass(frozen=True)
class SampleOptions:
    """The options of `gan sample`."""

    ckpt: Path
    """A checkpoint file or a run directory (its checkpoints/last.pt)."""
    n: int = 100
    seed: int = 0
    """Seed of the noise: the same seed gives the same samples."""
    out: Path | None = None
    """FILE.png, .npy or .pt; None: a PNG in the run's samples/."""
    device: str = "cpu"
    figure: str | None = None
    """None: samples; nearest: Figure 2; interpolate: Figure 3."""
    cols: int | None = None
    """Tiles per row of a figure (default 6 for nearest, 10 for interpolate)."""
    weights: str | None = None
    """ema | raw; None: ema when the checkpoint has it."""


def check_count(n: int, option: str) -> None:
    """A count of samples within 1..MAX_SAMPLES; GanError naming `option` otherwise."""
    if not 1 <= n <= MAX_SAMPLES:
        raise GanError(f"{option} {n}: must be between 1 and {MAX_SAMPLES:,}")


def _check_size(loaded: Loaded, n: int, out: Path) -> None:
    """Refuse, before any sample is drawn, an output the machine cannot hold: a picture past
    figures.samples' limits, rows past the disk's free space (.npy is streamed to the file) or,
    for .pt (one tensor), past the memory available."""
    if out.suffix.lower() == ".png":
        check_picture_size(n, loaded.data_info, "-n")
        return
    nbytes = n * output_dim(loaded.ckpt["generator"]) * 4  # float32 rows
    outputs.check_free_space(out, nbytes, "--out")
    if out.suffix.lower() == ".pt":
        devices.check_host_memory(2 * nbytes, f"-n {n:,} to a .pt file (one tensor, built in memory; .npy is streamed)")


def sample_command(options: SampleOptions) -> str:
    """Write the samples or the figure; the line to print."""
    check_count(options.n, "-n")
    if options.cols is not None and not 2 <= options.cols <= MAX_COLS:
        raise GanError(f"--cols {options.cols}: between 2 and {MAX_COLS} tiles per row")
    device = devices.select(options.device)
    loaded = load_models(options.ckpt, device, options.weights)
    step = int(loaded.ckpt["step"])
    run = run_dir.of_checkpoint(Path(loaded.ckpt["path"]))
    out = options.out
    if out is None:
        which = (
            loaded.weights if "ema" in loaded.ckpt and options.figure is None else ""
        )  # ema and raw pictures side by side
        out = run.sample_picture(step, options.seed, options.figure or "sample", which)
    allowed = (".png",) if options.figure else (".png", ".npy", ".pt")
    if out.suffix.lower() not in allowed:
        raise GanError(
            f"--out {out}: "
            + (
                f"--{options.figure} writes a picture; use a .png file"
                if options.figure
                else "use a .png, .npy or .pt file"
            )
        )
    outputs.check_output(out, "--out")
    _check_size(loaded, options.n, out)
    try:
        with (
            run.writer("outputs", "gan sample") if options.out is None else contextlib.nullcontext(),
            devices.memory_as_error(
                lambda size: (
                    f"-n {options.n:,}: drawing them asked for {size} more than the device has; draw fewer (several --seed values add up)"
                )
            ),
        ):
            if options.figure == "nearest":
                save_nearest_figure(
                    loaded.G, loaded.cfg, loaded.data_info, options.n, options.cols or 6, options.seed, device, out
                )
                return f"wrote {out}"
            if options.figure == "interpolate":
                save_interpolation_figure(
                    loaded.G, loaded.cfg, loaded.data_info, options.n, options.cols or 10, options.seed, device, out
                )
                return f"wrote {out}"
            if out.suffix.lower() != ".png":
                save_raw(loaded, options.n, options.seed, out)
                return f"wrote {options.n} samples to {out}"
            samples = generate(loaded.G, loaded.cfg, options.n, options.seed, device)
            draw(
                samples,
                loaded.data_info,
                out,
                target=loaded.target,
                D=loaded.D,
                device=device,
                title=f"step {step}, {options.n} samples, seed {options.seed}",
                G=loaded.G,
                noise=loaded.cfg.noise,
            )
    except KeyboardInterrupt:
        raise Stopped(f"gan sample interrupted: {out} was not written", 130) from None
    return f"wrote {options.n} samples to {out}"
