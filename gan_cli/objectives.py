"""The value function and the two players' losses, as pure functions of D's logits.

With a = D's logit: log D = logsigmoid(a) and log(1 - D) = logsigmoid(-a), never log(sigmoid(a)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_4 = math.log(4.0)
"""log 4 ~ 1.3863 nats: -log 4 is the equilibrium value of V(G, D), reached when p_g = p_data and D = 1/2."""


def value(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(G, D) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], estimated by minibatch means (nats).

    Its maximum over D for fixed G is -log 4 + 2 JSD(p_data || p_g) >= -log 4 ~ -1.3863.
    """
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """scale * -V(G, D) = scale * [BCE(D(x), 1) + BCE(D(G(z)), 0)]; D descends it (ascends V).

    The released MNIST code used scale = 1/2.
    """
    return -scale * value(real_logits, fake_logits)


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """G's loss on D's logits for G(z).

    minimax: E[log(1 - D(G(z)))], descended as in Algorithm 1 (saturates early in training).
    non_saturating: -E[log D(G(z))] = BCE(D(G(z)), 1), Section 3's stronger-gradient alternative.
    """
    if kind == "minimax":
        return F.logsigmoid(-fake_logits).mean()
    if kind == "non_saturating":
        return -F.logsigmoid(fake_logits).mean()
    raise ValueError(f"unknown generator loss {kind!r}")
