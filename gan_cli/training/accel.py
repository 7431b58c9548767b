"""The training step's speed options: torch.compile, bf16 autocast, CUDA graph capture.

`train.compile` compiles G and D (forward and backward) with TorchInductor; the optimizer stays
eager. `train.precision: bf16` runs the forward passes under autocast (matmuls in bfloat16, losses
and weights in float32). `train.cuda_graphs` records one D update and one G update (or one
simultaneous update) as CUDA graphs and replays them, so a step costs a few launches.
Each option is checked against the device when the Trainer is built, before a run directory exists.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable

import torch

from gan_cli.errors import GanError
from gan_cli.optim import PaperSGD

if TYPE_CHECKING:  # pragma: no cover
    from gan_cli.training.loop import Trainer

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
    """The nets the step calls (compiled or not) and the autocast context of the forward passes."""

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
        self.graphs: CapturedSteps | None = None
        self.want_graphs = bool(t.cuda_graphs)
        self.warmup_steps = 0  # eager steps run in this session before capture

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


class CapturedSteps:
    """CUDA graphs of the step's updates, replayed with a fresh data index and the schedule's lr.

    Noise and dropout masks are drawn inside the graphs (CUDA's Philox generator advances on each
    replay), the minibatch is gathered inside from a static index tensor, and the optimizers read
    lr and momentum from device tensors, so a replay is the same update as the eager step.
    `capture` is a parameter so the bookkeeping can be tested without a GPU.
    """

    def __init__(self, trainer: "Trainer", capture: Callable[[Callable[[], Any]], Callable[[], Any]] = cuda_capture) -> None:
        tr = trainer
        for opt in (tr.opt_d, tr.opt_g):
            assert isinstance(opt, PaperSGD)  # config validation guarantees it
            opt.keep_hyperparameters_on_device(tr.device)
        self.index = torch.zeros(tr.cfg.train.batch_size, dtype=torch.long, device=tr.device)
        self.replays: dict[str, Callable[[], Any]] = {}
        if tr.cfg.train.update == "simultaneous":
            self.replays["sim"] = capture(lambda: tr._simultaneous_update(tr.train_data[self.index]))
        else:
            self.replays["d"] = capture(lambda: tr._discriminator_update(tr.train_data[self.index]))
            self.replays["g"] = capture(tr._generator_update)

    def replay(self, name: str, index: torch.Tensor | None = None) -> Any:
        """Run update `name` once (after copying the next minibatch's indexes in); return its outputs."""
        if index is not None:
            self.index.copy_(index, non_blocking=True)
        return self.replays[name]()


@contextlib.contextmanager
def side_stream(device: torch.device) -> Any:
    """Run the enclosed eager warm-up steps on a side stream, as CUDA graph capture requires."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        yield
    torch.cuda.current_stream(device).wait_stream(stream)
