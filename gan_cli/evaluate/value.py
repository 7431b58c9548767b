"""V(G, D) of a given discriminator on held-out data, with its standard error and the JSD bound.

V(G, D) = E_x[log D(x)] + E_z[log(1 - D(G(z)))] (nats). For any D not fitted to the points it is
scored on, (V + log 4)/2 is a lower bound on JSD(p_data || p_g) in expectation, because
JSD - (V + log 4)/2 = E_{x~M}[KL(Bern(D*(x)) || Bern(D(x)))] >= 0 with M = (p_data + p_g)/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_cli.models import eval_mode
from gan_cli.objectives import LOG_4


@dataclass(frozen=True)
class ValueEstimate:
    """V(G, D) on n_real real and n_fake generated points, in nats."""

    value: float  # mean log D(x) + mean log(1 - D(G(z)))
    stderr: float  # sqrt(var(log D(x))/n + var(log(1 - D(G(z))))/m)
    d_real: float  # mean D(x)
    d_fake: float  # mean D(G(z))
    n_real: int
    n_fake: int

    @property
    def jsd_bound(self) -> float:
        """(V + log 4)/2, the implied lower bound on the JSD (may be negative for a poor D)."""
        return (self.value + LOG_4) / 2

    @property
    def jsd_bound_stderr(self) -> float:
        return self.stderr / 2


def value_estimate(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> ValueEstimate:
    """V(G, D) from D's logits, log D = logsigmoid(a) and log(1 - D) = logsigmoid(-a), in float64."""
    if len(real_logits) < 2 or len(fake_logits) < 2:
        raise ValueError("V(G, D) needs at least 2 real and 2 generated points for a standard error")
    a_r = real_logits.detach().double().reshape(-1)
    a_f = fake_logits.detach().double().reshape(-1)
    log_d = F.logsigmoid(a_r)
    log_1md = F.logsigmoid(-a_f)
    var = log_d.var(unbiased=True) / len(a_r) + log_1md.var(unbiased=True) / len(a_f)
    return ValueEstimate(
        value=float(log_d.mean() + log_1md.mean()),
        stderr=float(var.sqrt()),
        d_real=float(torch.sigmoid(a_r).mean()),
        d_fake=float(torch.sigmoid(a_f).mean()),
        n_real=len(a_r),
        n_fake=len(a_f),
    )


@torch.no_grad()
def logits(D: torch.nn.Module, x: torch.Tensor, device: torch.device, batch: int = 10_000) -> torch.Tensor:
    """D's logits for the rows of x (eval mode: no dropout), on the CPU."""
    with eval_mode(D):
        out = [D(x[i : i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)]
    return torch.cat(out) if out else torch.empty(0)
