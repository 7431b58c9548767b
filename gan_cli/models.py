"""The multilayer perceptrons G(z; theta_g) and D(x; theta_d), maxout units and init schemes.

D returns a logit a; D(x) = sigmoid(a). The paper's MNIST nets: G 100-1200-1200-784 (ReLU, sigmoid
output, U(+-0.05) init), D maxout 240x5 twice with input dropout 0.2 / 0.5 / 0.5 (U(+-0.005) init).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan_cli.config import Config, DiscriminatorConfig, GeneratorConfig, LayerConfig


class Maxout(nn.Module):
    """One linear map to units*pieces outputs, then the max over consecutive groups of `pieces`."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _MaxOverPieces.apply(self.linear(x), self.pieces)


class _MaxOverPieces(torch.autograd.Function):
    """max over consecutive groups of `pieces` in the last dimension.

    Forward is a 1-d max pool (a vectorised kernel, several times faster on the CPU than a max over
    a size-5 inner dimension); backward sends the gradient to the winning piece (to every tied
    piece, a measure-zero event for real-valued inputs).
    """

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, pieces: int) -> torch.Tensor:
        out = F.max_pool1d(y.reshape(-1, 1, y.shape[-1]), pieces, pieces).view(*y.shape[:-1], y.shape[-1] // pieces)
        ctx.save_for_backward(y, out)
        ctx.pieces = pieces
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        y, out = ctx.saved_tensors
        winners = y.view(*out.shape, ctx.pieces) == out.unsqueeze(-1)
        return winners.to(grad.dtype).mul_(grad.unsqueeze(-1)).view(y.shape), None


class Dropout(nn.Dropout):
    """Inverted dropout, x * [u >= p] / (1 - p) with u ~ U[0, 1) per input: nn.Dropout's distribution
    from one uniform draw, about twice as fast on the CPU as its Bernoulli draw."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, device=x.device).ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x * keep


def _activation(name: str) -> nn.Module:
    return {
        "linear": nn.Identity(),
        "relu": nn.ReLU(),
        "leaky_relu": nn.LeakyReLU(0.2),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
    }[name]


def _mlp_layers(in_features: int, hidden: list[LayerConfig]) -> tuple[list[nn.Module], int]:
    layers: list[nn.Module] = []
    width = in_features
    for layer in hidden:
        if layer.dropout > 0:
            layers.append(Dropout(layer.dropout))  # inverted dropout: kept units scaled by 1/(1-p)
        if layer.activation == "maxout":
            layers.append(Maxout(width, layer.units, layer.pieces))
        else:
            layers.append(nn.Linear(width, layer.units))
            layers.append(_activation(layer.activation))
        width = layer.units
    return layers, width


def _init(module: nn.Module, scheme: str, scale: float) -> None:
    """uniform: W ~ U(-scale, scale); normal: W ~ N(0, scale^2); biases 0. default keeps PyTorch's."""
    if scheme == "default":
        return
    for m in module.modules():
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                if scheme == "uniform":
                    m.weight.uniform_(-scale, scale)
                else:
                    m.weight.normal_(0.0, scale)
                m.bias.zero_()


class Generator(nn.Module):
    """x = G(z): an MLP from noise to data space."""

    def __init__(self, cfg: GeneratorConfig, noise_dim: int, data_dim: int) -> None:
        super().__init__()
        layers, width = _mlp_layers(noise_dim, cfg.hidden)
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, data_dim)
        self.out_activation = _activation(cfg.output_activation)
        _init(self, cfg.init, cfg.init_scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out_activation(self.out(self.body(z)))


class Discriminator(nn.Module):
    """a = D(x): the logit of the probability that x came from the data rather than from G."""

    def __init__(self, cfg: DiscriminatorConfig, data_dim: int) -> None:
        super().__init__()
        layers, width = _mlp_layers(data_dim, cfg.hidden)
        if cfg.output_dropout > 0:
            layers.append(Dropout(cfg.output_dropout))
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)
        _init(self, cfg.init, cfg.init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x)).squeeze(-1)


def build(cfg: Config, data_dim: int, output_bias: torch.Tensor | None = None) -> tuple[Generator, Discriminator]:
    """G and D for `cfg`, on the CPU; `output_bias` sets G's output bias (init_bias_from_marginals)."""
    g = Generator(cfg.generator, cfg.noise.dim, data_dim)
    d = Discriminator(cfg.discriminator, data_dim)
    if output_bias is not None:
        with torch.no_grad():
            g.out.bias.copy_(output_bias)
    return g, d


def generator_pass_bytes(cfg: Config, data_dim: int, n: int) -> int:
    """Bytes of the float32 values n rows hold at once on their way through G in one batch: the
    noise, the widest layer (maxout before its max) and the output. A lower bound, for checking a
    sample count against the memory before drawing."""
    widest = max((h.units * (h.pieces if h.activation == "maxout" else 1) for h in cfg.generator.hidden), default=0)
    return 4 * n * (cfg.noise.dim + widest + data_dim)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sample_noise(
    n: int, dim: int, prior: str, scale: float, device: torch.device, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n noise vectors from p_z: U(-scale, scale)^dim or N(0, scale^2 I)."""
    if prior == "uniform":
        z = torch.rand(n, dim, device=device, generator=generator)
        return z.mul_(2 * scale).sub_(scale)
    return torch.randn(n, dim, device=device, generator=generator).mul_(scale)


@contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Run the body with `nets` in eval mode (dropout off) and without autograd; restore their modes after."""
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)
