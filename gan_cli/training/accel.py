"""The speed options around the update rules of training/updates.py: torch.compile, bf16 autocast, CUDA graphs.

A step (gan_cli.training.loop) is written once against `updates.Updates`: D's update on a
minibatch, G's update, or the released code's simultaneous update. `StepOptions` gives the
updates the nets to call (compiled or not) and the autocast of their forward passes;
`CapturedUpdates` replays CUDA graphs recorded from the eager updates. `FastUpdates` is the one
object the Trainer holds: it checks the options and hands each step the implementation to run.

`train.compile` compiles G and D (forward and backward) with TorchInductor; the optimizer stays
eager. `train.precision: bf16` runs the forward passes under autocast (matmuls in bfloat16, losses
and weights in float32). `train.cuda_graphs` records one D update and one G update (or one
simultaneous update) as CUDA graphs and replays them, so a step costs a few launches.
Each option is checked against the device when the Trainer is built, before a run directory exists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

from gan_cli.errors import GanError
from gan_cli.optim import PaperSGD
from gan_cli.training.updates import DUpdate, EagerUpdates, SimultaneousUpdate, Updates

GRAPH_WARMUP_STEPS = 3  # eager steps on a side stream before capture (PyTorch's CUDA graph recipe)


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
                raise GanError(
                    f"train.cuda_graphs: needs a CUDA device, but this run uses {device}; set train.cuda_graphs: false"
                )
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

    def __init__(
        self, eager: EagerUpdates, update: str, capture: Callable[[Callable[[], Any]], Callable[[], Any]] = cuda_capture
    ) -> None:
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
