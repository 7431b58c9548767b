"""`gan eval features --data CONFIG`: train and cache a labelled dataset's local feature network (or
report the cached one). `gan eval` uses it with eval.features.network: local; by default it uses the
reference network shipped with gan-cli where there is one (feature_reference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from gan_cli import consoles
from gan_cli.config import Config, load
from gan_cli.errors import GanError, Stopped
from gan_cli.evaluate import feature_net as fn
from gan_cli.evaluate import feature_reference
from gan_cli.evaluate.feature_cache import FeatureNet, cache_path, labelled_data, load_cached, train_and_save

MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class FeaturesOptions:
    """The options of `gan eval features`."""

    data: Path
    """An experiment YAML whose data section names the dataset."""
    overrides: tuple[str, ...] = ()
    force: bool = False
    """Retrain even when a cached network is there."""
    steps: int | None = None
    """Adam updates of 128 images; None: 20 epochs, within 300..1,200."""


def features_command(options: FeaturesOptions, console: Console | None = None) -> FeatureNet:
    console = console or consoles.plain()
    if options.steps is not None and not 1 <= options.steps <= MAX_STEPS:
        raise GanError(f"--steps {options.steps}: must be between 1 and {MAX_STEPS:,}")
    cfg = load(options.data, list(options.overrides))
    ld = labelled_data(cfg)
    path = cache_path(cfg)
    if path.is_file() and not options.force:
        net = load_cached(path, ld)
        console.print(
            f"already trained: {net.describe()} (retrain with --force)", markup=False, highlight=False, soft_wrap=True
        )
        _note(cfg, console)
        return net
    settings = fn.TrainSettings(steps=options.steps or fn.default_steps(len(ld.train)))
    try:
        net = train_and_save(ld, path, settings, console)
    except KeyboardInterrupt:
        raise Stopped(f"gan eval features interrupted: no network was written to {path}", 130) from None
    i = net.info
    console.print(
        f"trained in {i['train_seconds']:.1f} s ({i['train_cpu_seconds']:.1f} s CPU, {i['threads']} thread(s), {i['steps']:,} steps of {i['batch_size']}): "
        f"{net.describe()}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    _note(cfg, console)
    return net


def _note(cfg: Config, console: Console) -> None:
    """Which network gan eval will use, where that is not the one just trained or reported."""
    if cfg.eval.features.network == "reference" and feature_reference.for_data(cfg.data.name) is not None:
        console.print(
            f"note: gan eval uses the reference network shipped for {cfg.data.name}, not this local one, unless "
            "eval.features.network: local (a local network's FIDs compare only with FIDs of the same weights)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
