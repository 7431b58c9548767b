"""Image metrics: the paper's Parzen-window log-likelihood and a memorisation check.

Parzen (Table 1): kernels are generated samples, sigma is chosen from logspace(-1, 0, 10) on the
first 1,000 validation images, the mean log-likelihood of the test images is reported +- std/sqrt(n)
(nats). It ranks models poorly in high dimensions (Theis et al. 2016); real training images as
kernels score about 241-245 on MNIST. Memorisation: the distance from each sample to its nearest
training image, against the same distance from held-out real images (the paper's Figure 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gan_cli.errors import GanError
from gan_cli.evaluate import distances, parzen

PARZEN_CAVEAT = (
    "Parzen estimates rank models poorly in high dimensions (Theis et al. 2016); real MNIST training "
    "images as kernels score about 241-245 under this protocol"
)


def parzen_split(
    valid: torch.Tensor, split: str, test: torch.Tensor, n_valid: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the images that choose sigma, the images scored): with split 'valid' the scored ones are
    those after the sigma-choosing ones. Checked before any work by `gan eval`."""
    if len(valid) == 0:
        raise GanError("the Parzen sigma is chosen on the validation split, and this dataset's is empty")
    chooser = valid[:n_valid]
    scored = valid[n_valid:] if split == "valid" else test
    if len(scored) < 2:
        raise GanError(
            f"--split valid: the validation split has {len(valid)} images and the first {len(chooser)} choose the "
            f"Parzen sigma, which leaves {len(scored)} to score; use --split test or lower eval.parzen.valid_examples"
        )
    return chooser, scored


def parzen_metric(
    centres: torch.Tensor, valid: torch.Tensor, split: str, test: torch.Tensor, n_valid: int
) -> dict[str, Any]:
    """The paper's protocol on the splits of `parzen_split`."""
    chooser, scored = parzen_split(valid, split, test, n_valid)
    out = parzen.paper_protocol(centres, chooser, scored)
    out["n_valid"] = len(chooser)
    out["n_kernels"] = len(centres)
    return out


def memorisation(
    samples: torch.Tensor, held_out: torch.Tensor, train: torch.Tensor, device: torch.device, seed: int, boot: int = 200
) -> dict[str, Any]:
    """Median nearest-training-image distance of samples over that of held-out real images.

    Near 1: samples are as far from the training set as new real images are; far below 1: samples
    copy training images. stderr by a bootstrap that resamples the two sides separately.
    """
    if len(samples) < 2 or len(held_out) < 2:
        raise GanError(
            "the memorisation check needs at least 2 samples and 2 held-out images (eval.memorisation.samples)"
        )
    ds = distances.nearest(samples, train, device)[0].numpy()
    dr = distances.nearest(held_out, train, device)[0].numpy()
    ratio = float(np.median(ds) / np.median(dr))
    rng = np.random.default_rng(seed)
    reps = [np.median(rng.choice(ds, len(ds))) / np.median(rng.choice(dr, len(dr))) for _ in range(boot)]
    p01 = float(np.quantile(dr, 0.01))
    return {
        "value": ratio,
        "stderr": float(np.std(reps, ddof=1)),
        "sample_median": float(np.median(ds)),
        "held_out_median": float(np.median(dr)),
        "closer_than_real_p01": float((ds < p01).mean()),
        "n_samples": len(ds),
        "n_held_out": len(dr),
        "n_train": len(train),
    }
