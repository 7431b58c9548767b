"""Training-step throughput: gan-cli against the loop a PyTorch user writes, and the matmul roofline.

One run, one machine, the paper's MNIST nets (G 100-1200-1200-784 ReLU/sigmoid; D maxout 240x5
twice, dropout 0.2/0.5/0.5; batch 100) on synthetic 784-d data in [0, 1]:

1. baseline: written here, not imported from gan_cli: a torchvision-style Dataset (PIL images,
   ToTensor), a shuffling DataLoader, nn.Sequential nets, one D step then one G step on fresh
   noise, torch.optim.SGD with momentum;
2. gan-cli: `Trainer.train_step`, the step `gan train` runs, built from a Config, for
   train.update alternating (k = 1) and simultaneous, and with the speed options; and the fast
   recipe's step (configs/mnist_fast.yaml: Adam, G averaged, bf16) with Adam fused (as gan-cli
   builds it) and with torch's default per-tensor Adam loop (as before), its baseline;
3. roofline: every matmul of one step (forward and backward of each Linear, for each update
   scheme) timed alone on the same shapes; its steps/s is what the step would reach if everything
   but the matmuls were free. FLOPs are counted, not estimated.

Candidates run interleaved, round after round, so a change in the machine's load hits them alike;
the table gives medians over rounds. Usage:

    PYTHONPATH=. python benchmarks/throughput.py                 # CPU, ~2 minutes
    PYTHONPATH=. python benchmarks/throughput.py --device cuda   # adds CUDA graphs
    PYTHONPATH=. python benchmarks/throughput.py --no-compile    # skip torch.compile (slow to build)
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from machine import cpu_name  # benchmarks/machine.py, beside this script
from torch import nn

BATCH = 100
NOISE = 100
SQRT3 = math.sqrt(3.0)
N_IMAGES = 10_000


# ---------------------------------------------------------------- 1. the hand-written baseline

try:
    from torchvision.transforms import ToTensor
except ImportError:  # torchvision is not a gan-cli dependency: the same transform, written out

    class ToTensor:  # type: ignore[no-redef]
        def __call__(self, pic: object) -> torch.Tensor:
            a = torch.from_numpy(np.array(pic, dtype=np.uint8, copy=True))
            return a.view(1, *a.shape[:2]).float().div(255)


class SyntheticMNIST(torch.utils.data.Dataset):
    """Like torchvision.datasets.MNIST: uint8 images -> PIL image -> ToTensor, one item at a time."""

    def __init__(self, images: np.ndarray) -> None:
        from PIL import Image

        self.images, self.to_pil, self.transform = images, Image.fromarray, ToTensor()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.to_pil(self.images[i], mode="L")), 0


class Maxout(nn.Module):
    def __init__(self, n_in: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces, self.lin = units, pieces, nn.Linear(n_in, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x).view(-1, self.units, self.pieces).max(-1)[0]


class Baseline:
    """The loop from a tutorial: DataLoader batches, D step, then G step on fresh noise."""

    def __init__(self, images: np.ndarray, device: torch.device) -> None:
        self.device = device
        self.loader = torch.utils.data.DataLoader(
            SyntheticMNIST(images), batch_size=BATCH, shuffle=True, drop_last=True
        )
        self.batches = iter(self.loader)
        self.G = nn.Sequential(
            nn.Linear(NOISE, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(), nn.Linear(1200, 784), nn.Sigmoid()
        ).to(device)
        self.D = nn.Sequential(
            nn.Dropout(0.2),
            Maxout(784, 240, 5),
            nn.Dropout(0.5),
            Maxout(240, 240, 5),
            nn.Dropout(0.5),
            nn.Linear(240, 1),
        ).to(device)
        self.opt_g = torch.optim.SGD(self.G.parameters(), lr=0.1, momentum=0.5)
        self.opt_d = torch.optim.SGD(self.D.parameters(), lr=0.1, momentum=0.5)
        self.loss = nn.BCEWithLogitsLoss()
        self.ones = torch.ones(BATCH, 1, device=device)
        self.zeros = torch.zeros(BATCH, 1, device=device)

    def noise(self) -> torch.Tensor:
        return (torch.rand(BATCH, NOISE, device=self.device) * 2 - 1) * SQRT3

    def step(self) -> None:
        try:
            real, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            real, _ = next(self.batches)
        real = real.view(BATCH, -1).to(self.device)
        # D step
        fake = self.G(self.noise())
        self.opt_d.zero_grad()
        d_loss = self.loss(self.D(real), self.ones) + self.loss(self.D(fake.detach()), self.zeros)
        d_loss.backward()
        self.opt_d.step()
        # G step on fresh noise
        self.opt_g.zero_grad()
        g_loss = self.loss(self.D(self.G(self.noise())), self.ones)
        g_loss.backward()
        self.opt_g.step()


# ---------------------------------------------------------------- 2. gan-cli's step


def gan_cli_trainer(
    images: np.ndarray, device: torch.device, update: str, recipe: str = "mnist.yaml", **options: object
):  # type: ignore[no-untyped-def]
    """A Trainer exactly as `gan train configs/<recipe>` builds it, on the synthetic images."""
    from pathlib import Path

    from gan_cli import config, data
    from gan_cli.training import loop as train

    raw = config.read_yaml(Path(__file__).resolve().parents[1] / "configs" / recipe)
    raw["device"] = str(device)
    raw["train"] = {**raw["train"], "update": update, "k": 1, **options}
    cfg = config.from_dict(raw)
    x = torch.from_numpy(images.reshape(len(images), -1)).float().div_(255)
    dataset = data.Dataset("synthetic", x, x[:BATCH], x[:BATCH], (1, 28, 28), (0.0, 1.0), None)
    return train.Trainer(cfg, dataset, device)


# ---------------------------------------------------------------- 3. FLOPs and the roofline

Gemm = tuple[int, int, int]  # (M, K, N): an M x K by K x N product, 2 M K N FLOPs


def linear_shapes(net: nn.Module) -> list[tuple[int, int]]:
    """(in, out) of each nn.Linear of an MLP, in forward order."""
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def forward(layers: list[tuple[int, int]], rows: int) -> list[Gemm]:
    return [(rows, i, o) for i, o in layers]


def backward(layers: list[tuple[int, int]], rows: int, weights: bool, first_input: bool) -> list[Gemm]:
    """Weight gradients (out x rows x in) if `weights`; input gradients (rows x out x in) for every
    layer but the first, and the first too if `first_input` (the gradient reaches G through D)."""
    out: list[Gemm] = []
    for j, (i, o) in enumerate(layers):
        if weights:
            out.append((o, rows, i))
        if j > 0 or first_input:
            out.append((rows, o, i))
    return out


def step_gemms(scheme: str, g: list[tuple[int, int]], d: list[tuple[int, int]], m: int = BATCH) -> list[Gemm]:
    """Every matmul of one step of `scheme`, as each implementation runs it."""
    if scheme == "alternating":  # gan-cli: D on real+fake in one pass; G step without D's weight grads
        return (
            forward(g, m)
            + forward(d, 2 * m)
            + backward(d, 2 * m, True, False)
            + forward(g, m)
            + forward(d, m)
            + backward(d, m, False, True)
            + backward(g, m, True, False)
        )
    if scheme == "simultaneous":  # one fake batch; D's backward for its weights, then G's through D
        return (
            forward(g, m)
            + forward(d, 2 * m)
            + backward(d, 2 * m, True, False)
            + backward(d, 2 * m, False, True)
            + backward(g, m, True, False)
        )
    if scheme == "baseline":  # D(real), D(fake.detach()); the G step also computes D's weight grads
        return (
            forward(g, m)
            + 2 * forward(d, m)
            + 2 * backward(d, m, True, False)
            + forward(g, m)
            + forward(d, m)
            + backward(d, m, True, True)
            + backward(g, m, True, False)
        )
    raise ValueError(scheme)


def flops(gemms: list[Gemm]) -> int:
    return sum(2 * a * b * c for a, b, c in gemms)


class Matmuls:
    """The step's matmuls alone, in the layouts autograd uses (x @ W^T, g @ W, g^T @ x)."""

    def __init__(self, gemms: list[Gemm], device: torch.device) -> None:
        self.ops: list[Callable[[], torch.Tensor]] = []
        for m, k, n in gemms:
            a = torch.rand(m, k, device=device)
            b = torch.rand(n, k, device=device).t()  # a transposed weight, as nn.Linear's forward
            self.ops.append(lambda a=a, b=b: torch.mm(a, b))

    def step(self) -> None:
        for op in self.ops:
            op()


# ---------------------------------------------------------------- timing


@dataclass
class Candidate:
    name: str
    step: Callable[[], None]
    gflop: float  # per step
    scheme: str  # whose roofline it is measured against
    rates: list[float] = field(default_factory=list)


def timed(c: Candidate, steps: int, sync: Callable[[], None], clock: Callable[[], float] = time.perf_counter) -> float:
    sync()
    t0 = clock()
    for _ in range(steps):
        c.step()
    sync()
    return steps / (clock() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the table gives medians")
    ap.add_argument("--steps", type=int, default=10, help="steps per candidate per round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="one thread, timed by its CPU time: figures that other processes' load does not change",
    )
    ap.add_argument("--no-compile", action="store_true", help="skip the train.compile candidates")
    ap.add_argument("--no-bf16", action="store_true", help="skip the train.precision bf16 candidates")
    args = ap.parse_args()
    if args.cpu_time:
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.thread_time if args.cpu_time else time.perf_counter
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    images = np.random.default_rng(0).integers(0, 256, (N_IMAGES, 28, 28), dtype=np.uint8)
    torch.manual_seed(0)

    alt = gan_cli_trainer(images, device, "alternating")
    g_shapes, d_shapes = linear_shapes(alt.G), linear_shapes(alt.D)
    gf = {s: flops(step_gemms(s, g_shapes, d_shapes)) / 1e9 for s in ("alternating", "simultaneous", "baseline")}

    cands = [Candidate("baseline (hand-written)", Baseline(images, device).step, gf["baseline"], "baseline")]
    cands.append(Candidate("gan-cli alternating", alt.train_step, gf["alternating"], "alternating"))
    cands.append(
        Candidate(
            "gan-cli simultaneous",
            gan_cli_trainer(images, device, "simultaneous").train_step,
            gf["simultaneous"],
            "simultaneous",
        )
    )
    options: list[tuple[str, dict[str, object]]] = []
    if not args.no_bf16:
        options.append(("bf16", {"precision": "bf16"}))
    if not args.no_compile:
        options.append(("compile", {"compile": True}))
    if device.type == "cuda":
        options.append(("cuda_graphs", {"cuda_graphs": True}))
    notes: list[str] = []
    for label, opts in options:
        for scheme in ("alternating", "simultaneous"):
            try:
                tr = gan_cli_trainer(images, device, scheme, **opts)
                t0 = time.perf_counter()
                for _ in range(4):  # compile / capture happen in the first steps
                    tr.train_step()
                sync()
                notes.append(f"{label} {scheme}: first 4 steps (build) took {time.perf_counter() - t0:.1f} s")
                print(f"# {notes[-1]}", file=sys.stderr, flush=True)
                cands.append(Candidate(f"gan-cli {scheme} + {label}", tr.train_step, gf[scheme], scheme))
            except Exception as exc:  # an option this machine cannot run is reported, not fatal
                notes.append(f"{label} {scheme}: skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
    fast_options: dict[str, object] = {"precision": "float32"} if args.no_bf16 else {}
    fused = gan_cli_trainer(images, device, "alternating", "mnist_fast.yaml", **fast_options)
    per_tensor = gan_cli_trainer(images, device, "alternating", "mnist_fast.yaml", **fast_options)
    for opt in (per_tensor.opt_g, per_tensor.opt_d):
        for group in opt.param_groups:  # torch's default: its per-tensor loop (foreach off on a CPU)
            group["fused"] = None
    cands.append(
        Candidate("fast recipe, Adam per-tensor loop", per_tensor.train_step, gf["alternating"], "alternating")
    )
    cands.append(Candidate("fast recipe, Adam fused", fused.train_step, gf["alternating"], "alternating"))
    roof = {
        s: Candidate(f"matmuls only: {s}", Matmuls(step_gemms(s, g_shapes, d_shapes), device).step, gf[s], s)
        for s in ("alternating", "simultaneous", "baseline")
    }
    cands += list(roof.values())

    for c in cands:  # warm-up: allocator, thread pool, lazy state
        for _ in range(3):
            c.step()
    round_loads = []
    for i in range(args.rounds):
        round_loads.append(os.getloadavg()[0])
        print(
            f"round {i + 1}/{args.rounds} (load {round_loads[-1]:.2f}, {time.perf_counter() - t_start:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        for c in cands:
            c.rates.append(timed(c, args.steps, sync, clock))

    med = {c.name: statistics.median(c.rates) for c in cands}
    base = med[cands[0].name]
    print(
        f"# {platform.machine()} {platform.processor() or ''} {cpu_name()}; {os.cpu_count()} CPUs; torch {torch.__version__}; "
        f"threads {torch.get_num_threads()}; device {device}{' ' + torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}"
    )
    print(
        f"# medians over {args.rounds} interleaved rounds of {args.steps} steps; batch {BATCH}; float32 unless noted; "
        f"{'timed by the thread CPU time (--cpu-time)' if args.cpu_time else 'wall-clock time'}"
    )
    print(
        f"# load average (1, 5, 15 min): start {tuple(round(x, 2) for x in load_start)}, end {tuple(round(x, 2) for x in os.getloadavg())}; "
        f"1-min load during the rounds {min(round_loads):.2f}..{max(round_loads):.2f}"
    )
    print()
    print(
        f"| {'candidate':34s} | steps/s | samples/s | x baseline | GFLOP/step | GFLOP/s | of roofline | spread (min..max steps/s) |"
    )
    print(
        f"|{'-' * 36}|--------:|----------:|-----------:|-----------:|--------:|------------:|:--------------------------|"
    )
    for c in cands:
        r = med[c.name]
        roof_rate = med[roof[c.scheme].name]
        print(
            f"| {c.name:34s} | {r:7.1f} | {r * BATCH:9.0f} | {r / base:9.2f}x | {c.gflop:10.2f} | {r * c.gflop:7.1f} | {r / roof_rate:10.0%} | {min(c.rates):.1f}..{max(c.rates):.1f} |"
        )
    print()
    for n in notes:
        print(f"# {n}")
    print(f"# whole benchmark: {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
