"""Euclidean distances between the rows of two large matrices, in chunks that fit in memory.

Used by the Parzen estimate (every test image against every sample), the memorisation check and
Figure 2's nearest training example. ||q - r||^2 = ||q||^2 + ||r||^2 - 2 q.r as one matmul per
chunk, exact to float32 rounding.
"""

from __future__ import annotations

import torch


def squared_distances(q: torch.Tensor, ref: torch.Tensor, ref_sq: torch.Tensor | None = None) -> torch.Tensor:
    """(len(q), len(ref)) squared distances, clamped at 0 (rounding can make them slightly negative).

    `ref_sq` is (ref * ref).sum(1) when the caller reuses it over many chunks of q.
    """
    if ref_sq is None:
        ref_sq = (ref * ref).sum(1)
    return ((q * q).sum(1, keepdim=True) + ref_sq[None, :]).addmm_(q, ref.T, alpha=-2.0).clamp_(min=0.0)


@torch.no_grad()
def nearest(
    queries: torch.Tensor, reference: torch.Tensor, device: torch.device | str = "cpu", chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row: the distance to its nearest reference row (float64, on the CPU) and that row's index."""
    ref = reference.to(device=device, dtype=torch.float32)
    ref_sq = (ref * ref).sum(1)
    dists, index = [], []
    for i in range(0, len(queries), chunk):
        q = queries[i : i + chunk].to(device=device, dtype=torch.float32)
        d, j = squared_distances(q, ref, ref_sq).min(dim=1)
        dists.append(d.double().sqrt().cpu())
        index.append(j.cpu())
    return torch.cat(dists), torch.cat(index)
