"""The updates a training step runs, and their speed options: torch.compile, bf16 autocast, CUDA graphs.

A step (gan_cli.training.loop) is written once against `Updates`: D's update on a minibatch, G's
update, or the released code's simultaneous update. `EagerUpdates` runs them as plain PyTorch;
`CapturedUpdates` replays CUDA graphs recorded from the same eager code. `FastUpdates` is the one
object the Trainer holds: it checks the options and hands each step the implementation to run.

`train.compile` compiles G and D (forward and backward) with TorchInductor; the optimizer stays
eager. `train.precision: bf16` runs the forward passes under autocast (matmuls in bfloat16, losses
and weights in float32). `train.cuda_graphs` records one D update and one G update (or one
simultaneous update) as CUDA graphs and replays them, so a step costs a few launches.
Each option is checked against the device when the Trainer is built, before a run directory exists.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Protocol

import torch

from gan_cli import objectives
from gan_cli.config import TrainConfig
from gan_cli.errors import GanError
from gan_cli.optim import PaperSGD

GRAPH_WARMUP_STEPS = 3  # eager steps on a side stream before capture (PyTorch's CUDA graph recipe)

DUpdate = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # D's logits on x and on G(z), D's loss
SimultaneousUpdate = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # the same and G's loss


class Updates(Protocol):
    """The updates a training step is made of. Each is pure tensor work (no counters, no host
    sync) and returns detached device tensors; `index` picks the minibatch rows of the training set."""

    def discriminator(self, index: torch.Tensor) -> DUpdate: ...

    def generator(self) -> torch.Tensor: ...

    def simultaneous(self, index: torch.Tensor) -> SimultaneousUpdate: ...


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast runs on `device`: CUDA with bf16 units, or a CPU with oneDNN."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available())
    return False


def compile_available() -> str | None:
    """None when torch.compile can run here, else why not (a message for train.compile)."""
    try:
        import torch._dynamo as dynamo
    except Exception as exc:  # pragma: no cover - depends on the install
        return f"torch.compile is unavailable in this PyTorch ({exc})"
    if not dynamo.is_dynamo_supported():
        return "torch.compile does not support this Python / platform"
    try:
        from torch._inductor import cpp_builder

        cpp_builder.get_cpp_compiler()
    except Exception as exc:
        return f"TorchInductor needs a C++ compiler (g++ or clang++) for the CPU code: {exc}"
    return None


class StepOptions:
    """The nets the updates call (compiled or not) and the autocast context of the forward passes."""

    def __init__(self, cfg: Any, device: torch.device, G: torch.nn.Module, D: torch.nn.Module) -> None:
        t = cfg.train
        self.precision = t.precision
        self.device = device
        if t.precision == "bf16" and not bf16_supported(device):
            raise GanError(f"train.precision: bf16 autocast is not supported on {device}; set train.precision: float32")
        if t.cuda_graphs:
            if device.type != "cuda":
                raise GanError(f"train.cuda_graphs: needs a CUDA device, but this run uses {device}; set train.cuda_graphs: false")
            if t.compile:
                raise GanError("train.cuda_graphs: cannot be combined with train.compile; choose one")
        self.G: Callable[[torch.Tensor], torch.Tensor] = G
        self.D: Callable[[torch.Tensor], torch.Tensor] = D
        if t.compile:
            why = compile_available()
            if why:
                raise GanError(f"train.compile: {why}; set train.compile: false")
            # static shapes: a step sees two batch sizes (m and 2m), each compiled once
            self.G = torch.compile(G, dynamic=False)
            self.D = torch.compile(D, dynamic=False)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast around forward passes; the weight-cast cache is off (safe in CUDA graphs)."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()


class EagerUpdates:
    """The updates as plain PyTorch, through the (maybe compiled) nets under the (maybe bf16) autocast.

    `noise(n)` draws n noise vectors from p_z; `data` is the training set on the device; `train`
    gives the batch size m, train.d_loss_scale and train.generator_loss.
    """

    def __init__(
        self,
        options: StepOptions,
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

    def discriminator(self, index: torch.Tensor) -> DUpdate:
        """One descent step of D on d_loss_scale * -V(G, D) over data[index] and as many G(z)."""
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

    def generator(self) -> torch.Tensor:
        """One descent step of G on train.generator_loss over m fresh G(z), through D as it is now."""
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

    def simultaneous(self, index: torch.Tensor) -> SimultaneousUpdate:
        """The released code's update: one fake batch S = G(z), D's and G's losses from the same D
        passes, both gradients taken before either net moves, then both nets step."""
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


def cuda_capture(body: Callable[[], Any]) -> Callable[[], Any]:
    """Record `body` as a CUDA graph (nothing runs yet); return a function that replays it and
    returns the graph's static outputs."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = body()

    def replay() -> Any:
        graph.replay()
        return outputs

    return replay


class CapturedUpdates:
    """CUDA graphs of `eager`'s updates, replayed with a fresh data index and the schedule's lr.

    Noise and dropout masks are drawn inside the graphs (CUDA's Philox generator advances on each
    replay), the minibatch is gathered inside from a static index tensor, and the optimizers read
    lr and momentum from device tensors (copied from their groups before each replay), so a replay
    is the same update as the eager one. Only the updates of `update` (alternating: D and G;
    simultaneous: the one) are recorded. `capture` is a parameter so the bookkeeping can be tested
    without a GPU.
    """

    def __init__(self, eager: EagerUpdates, update: str, capture: Callable[[Callable[[], Any]], Callable[[], Any]] = cuda_capture) -> None:
        opt_d, opt_g = eager.opt_d, eager.opt_g
        assert isinstance(opt_d, PaperSGD) and isinstance(opt_g, PaperSGD)  # config validation guarantees it
        self.opt_d, self.opt_g = opt_d, opt_g
        for opt in (opt_d, opt_g):
            opt.keep_hyperparameters_on_device(eager.data.device)
        self.index = torch.zeros(eager.batch_size, dtype=torch.long, device=eager.data.device)
        self.replays: dict[str, Callable[[], Any]] = {}
        if update == "simultaneous":
            self.replays["simultaneous"] = capture(lambda: eager.simultaneous(self.index))
        else:
            self.replays["discriminator"] = capture(lambda: eager.discriminator(self.index))
            self.replays["generator"] = capture(eager.generator)

    def _replay(self, name: str, optimizers: tuple[PaperSGD, ...], index: torch.Tensor | None = None) -> Any:
        for opt in optimizers:  # the schedule set this update's lr and momentum on the host
            opt.sync_hyperparameters()
        if index is not None:
            self.index.copy_(index, non_blocking=True)
        return self.replays[name]()

    def discriminator(self, index: torch.Tensor) -> DUpdate:
        return self._replay("discriminator", (self.opt_d,), index)

    def generator(self) -> torch.Tensor:
        return self._replay("generator", (self.opt_g,))

    def simultaneous(self, index: torch.Tensor) -> SimultaneousUpdate:
        return self._replay("simultaneous", (self.opt_d, self.opt_g), index)


@contextlib.contextmanager
def side_stream(device: torch.device) -> Iterator[None]:
    """Run the enclosed eager warm-up steps on a side stream, as CUDA graph capture requires."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        yield
    torch.cuda.current_stream(device).wait_stream(stream)


class FastUpdates:
    """The one speed object of a Trainer: checks train.compile / precision / cuda_graphs against the
    device, and hands each step its updates: eager, or with train.cuda_graphs, eager on a side
    stream for GRAPH_WARMUP_STEPS steps of this session and CUDA-graph replays after."""

    def __init__(self, cfg: Any, eager: EagerUpdates) -> None:
        self.options = eager.options
        self.eager = eager
        self.update = cfg.train.update
        self.want_graphs = bool(cfg.train.cuda_graphs)
        self.captured: CapturedUpdates | None = None
        self.warmup_steps = 0  # eager steps run in this session before capture

    @contextlib.contextmanager
    def step(self) -> Iterator[Updates]:
        """The updates for one training step (`with fast.step() as updates:`)."""
        if self.want_graphs and self.captured is None:
            if self.warmup_steps < GRAPH_WARMUP_STEPS:
                with side_stream(self.options.device):
                    yield self.eager
                self.warmup_steps += 1
                return
            self.captured = CapturedUpdates(self.eager, self.update)
        yield self.captured if self.captured is not None else self.eager

    def forget_captured(self) -> None:
        """Re-record the graphs at the next step: after the optimizers load a state (a NaN rollback)
        their momentum buffers are new tensors, and recorded graphs would still step the old ones."""
        self.captured = None
        self.warmup_steps = GRAPH_WARMUP_STEPS  # the side-stream warm-up of this session is done
