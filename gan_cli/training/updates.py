"""The update rules of a training step, each defined once: D's update, G's update, and the released
code's simultaneous update. Algorithm 1's iteration that calls them is training/loop.py; the speed
options that run them compiled, in bf16 or as CUDA graph replays are training/accel.py.

Losses are those of gan_cli.objectives, on D's logits a (D(x) = sigmoid(a)), so that
log D = logsigmoid(a) and log(1 - D) = logsigmoid(-a), never log(sigmoid(a)) in two steps.
Every update is pure tensor work (no counters, no host sync) and returns detached device tensors,
so the same code can be recorded once as a CUDA graph and replayed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import torch

from gan_cli import objectives
from gan_cli.config import TrainConfig

DUpdate = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # D's logits on x and on G(z) (m each), D's loss (nats)
SimultaneousUpdate = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # the same and G's loss (nats)


class Updates(Protocol):
    """The updates a training step is made of: these (EagerUpdates) or replays of them
    (accel.CapturedUpdates). `index` picks the m minibatch rows of the training set."""

    def discriminator(self, index: torch.Tensor) -> DUpdate: ...

    def generator(self) -> torch.Tensor: ...

    def simultaneous(self, index: torch.Tensor) -> SimultaneousUpdate: ...


class Passes(Protocol):
    """How the forward passes run (accel.StepOptions): G and D (maybe compiled) and the autocast
    context (maybe bf16) around them."""

    G: Callable[[torch.Tensor], torch.Tensor]
    D: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager[Any]: ...


class EagerUpdates:
    """The updates as plain PyTorch, through `options`' nets under its autocast.

    `noise(n)` draws n noise vectors z ~ p_z; `data` is the training set on the device (one row
    per example); `train` gives the batch size m, train.d_loss_scale and train.generator_loss.
    """

    def __init__(
        self,
        options: Passes,
        G: torch.nn.Module,
        D: torch.nn.Module,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        data: torch.Tensor,
        noise: Callable[[int], torch.Tensor],
        train: TrainConfig,
    ) -> None:
        self.options = options
        self.opt_g, self.opt_d = opt_g, opt_d
        self.data = data
        self.noise = noise
        self.batch_size = train.batch_size
        self.d_loss_scale = train.d_loss_scale
        self.generator_loss = train.generator_loss
        self._d_params = list(D.parameters())
        self._g_params = list(G.parameters())

    # D ascends  (1/m) sum_i [log D(x_i) + log(1 - D(G(z_i)))]  over m data rows x_i and m fresh z_i,
    # i.e. descends d_loss = d_loss_scale * -[mean logsigmoid(a_real) + mean logsigmoid(-a_fake)]
    # (d_loss_scale 1/2 in the released code); G(z) is a constant here (no graph through G).
    def discriminator(self, index: torch.Tensor) -> DUpdate:
        """One descent step of D on d_loss over data[index] and as many G(z); D's loss in nats."""
        x = self.data[index]
        n = len(x)
        fast = self.options
        with fast.autocast():
            with torch.no_grad():  # D's update needs no graph through G
                fake = fast.G(self.noise(n))
            # one D pass over real and fake rows (larger matmuls); dropout masks are drawn per row,
            # so this is the same update as two passes
            logits = fast.D(torch.cat([x, fake.to(x.dtype)])).float()
        real_logits, fake_logits = logits[:n], logits[n:]
        d_loss = objectives.discriminator_loss(real_logits, fake_logits, self.d_loss_scale)
        self.opt_d.zero_grad(set_to_none=True)  # backward then hands its gradient buffers over
        d_loss.backward()
        self.opt_d.step()
        return real_logits.detach(), fake_logits.detach(), d_loss.detach()

    # G descends (1/m) sum_i log(1 - D(G(z_i)))  = mean logsigmoid(-a_fake)       (minimax), or
    # G ascends  (1/m) sum_i log D(G(z_i))       = descends -mean logsigmoid(a_fake) (non_saturating,
    # Section 3), over m fresh z_i through D as it is now; D's weights are constants.
    def generator(self) -> torch.Tensor:
        """One descent step of G on train.generator_loss over m fresh G(z); G's loss in nats."""
        # D's weights are constants of G's loss: with requires_grad off, autograd neither keeps
        # their inputs nor computes their gradients (a compiled D then has no weight gradients)
        for p in self._d_params:
            p.requires_grad_(False)
        try:
            with self.options.autocast():
                fake_logits = self.options.D(self.options.G(self.noise(self.batch_size))).float()
        finally:
            for p in self._d_params:
                p.requires_grad_(True)
        g_loss = objectives.generator_loss(fake_logits, self.generator_loss)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return g_loss.detach()

    # The released code: one fake batch S = G(z) and the same D passes give both losses,
    #   D descends d_loss_scale * -[mean log D(x_i) + mean log(1 - D(S_i))]  (grad over theta_d only),
    #   G descends its loss on D(S)                                          (grad over theta_g only),
    # both gradients taken at the same (theta_d, theta_g), then both nets step together.
    def simultaneous(self, index: torch.Tensor) -> SimultaneousUpdate:
        """One simultaneous step of D and G over data[index] and as many G(z); both losses in nats."""
        x = self.data[index]
        n = len(x)
        fast = self.options
        with fast.autocast():
            fake = fast.G(self.noise(n))
            # one pass over real and fake: dropout masks are drawn per example, so they stay separate
            logits = fast.D(torch.cat([x, fake.to(x.dtype)])).float()
        real_logits, fake_logits = logits[:n], logits[n:]
        d_loss = objectives.discriminator_loss(real_logits, fake_logits, self.d_loss_scale)
        g_loss = objectives.generator_loss(fake_logits, self.generator_loss)
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        # G's gradient must see D's pre-update parameters, so neither optimizer steps before both backwards
        d_loss.backward(inputs=self._d_params, retain_graph=True)
        g_loss.backward(inputs=self._g_params)
        self.opt_d.step()
        self.opt_g.step()
        return real_logits.detach(), fake_logits.detach(), d_loss.detach(), g_loss.detach()
