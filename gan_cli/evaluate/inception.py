"""The literature's Inception FID and KID (torch-fidelity's InceptionV3, 2048-d pool features) for
3-channel images, an option (eval.features.inception). Its weights are downloaded once by torch-fidelity;
where that is impossible (offline) the section prints one line and is skipped.

Images go to torch-fidelity as uint8 (round(255 x) of the [0, 1] pixels), which resizes them to
299 x 299 as the TF reference implementation does. KID: torch-fidelity's mean over overlapping
random subsets; its spread is kept as `subset_std` (not a standard error).
"""

from __future__ import annotations

from typing import Any

import torch
from rich.console import Console

from gan_cli import data, seeds
from gan_cli.evaluate.report import metric
from gan_cli.sample import Loaded, generate

EXTRACTOR = "inception-v3-compat"


class _Uint8Images(torch.utils.data.Dataset):
    """Rows of [0, 1] pixels as the (3, H, W) uint8 tensors torch-fidelity reads."""

    def __init__(self, x01: torch.Tensor, shape: tuple[int, ...]) -> None:
        self.x = (x01.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).reshape(len(x01), *shape)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]


def weights_available(cuda: bool) -> str | None:
    """None when torch-fidelity can build its Inception network here, else why not (one line)."""
    import contextlib
    import io

    try:
        from torch_fidelity.utils import create_feature_extractor

        with contextlib.redirect_stderr(io.StringIO()):  # torch.hub's "Downloading: ..." line
            create_feature_extractor(EXTRACTOR, ["2048"], cuda=cuda, verbose=False)
    except Exception as exc:  # network errors, missing package, corrupt download: all mean "skip"
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


def fid_kid(fake01: torch.Tensor, real01: torch.Tensor, shape: tuple[int, ...], cuda: bool) -> dict[str, float]:
    """torch-fidelity's Inception FID and KID of two sets of [0, 1] images."""
    import torch_fidelity

    r = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(fake01, shape),
        input2=_Uint8Images(real01, shape),
        fid=True,
        kid=True,
        feature_extractor=EXTRACTOR,
        kid_subset_size=min(1000, len(fake01), len(real01)),
        cuda=cuda,
        verbose=False,
        cache=False,
    )
    return {
        "fid": float(r["frechet_inception_distance"]),
        "kid": float(r["kernel_inception_distance_mean"]),
        "kid_std": float(r["kernel_inception_distance_std"]),
    }


def inception_metrics(
    loaded: Loaded, ds: data.Dataset, held: torch.Tensor, n: int, split: str, seed: int, console: Console
) -> dict[str, Any]:
    """inception_fid and inception_kid with their real-vs-real calibration, or {} and one printed
    line; `seed`: the evaluation's."""
    shape = ds.image_shape
    if shape is None or shape[0] != 3:
        console.print(
            f"eval.features.inception: skipped, Inception FID/KID need 3-channel images and {loaded.cfg.data.name} has {shape[0] if shape else 'no'} channel(s)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return {}
    cuda = loaded.device.type == "cuda"
    why = weights_available(cuda)
    if why is not None:
        console.print(
            f"eval.features.inception: skipped, torch-fidelity's Inception weights are not available here (offline?): {why}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return {}
    to01 = lambda x: ds.to_unit(x.cpu())  # noqa: E731
    gen = torch.Generator().manual_seed(seeds.derive(seed, seeds.EVAL_INCEPTION_TRAIN))
    train_part = ds.train[torch.randperm(len(ds.train), generator=gen)[: min(n, len(ds.train))]]
    fake = generate(loaded.G, loaded.cfg, n, seeds.derive(seed, seeds.EVAL_INCEPTION_NOISE), loaded.device)
    g, r = fid_kid(to01(fake), to01(held), shape, cuda), fid_kid(to01(train_part), to01(held), shape, cuda)
    pair = f"{len(train_part):,} training images vs the {len(held):,} {split} images"
    n_pair = [len(held), n]
    cal = lambda key: {"value": r[key], "stderr": None, "n": [len(held), len(train_part)], "pair": pair}  # noqa: E731
    return {
        "inception_fid": metric(
            g["fid"],
            None,
            n_pair,
            f"torch-fidelity's FID in InceptionV3 pool features ({EXTRACTOR}), {split} images vs G's samples; comparable with published FIDs only at the same n and data",
            "FID (Inception)",
            split=split,
            calibration=cal("fid"),
        ),
        "inception_kid": metric(
            g["kid"],
            None,
            n_pair,
            "torch-fidelity's KID in InceptionV3 pool features: mean over overlapping random subsets (subset_std is their spread, not a s.e.)",
            "KID (Inception)",
            split=split,
            subset_std=g["kid_std"],
            calibration=cal("kid"),
        ),
    }
