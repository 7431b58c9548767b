"""The fast step and its options give the same updates as the plain computation (correctness only).

No timing here: speed is measured by benchmarks/throughput.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gan_cli import config, data
from gan_cli.errors import GanError
from gan_cli.training import accel as speed
from gan_cli.training.loop import Trainer

pytestmark = pytest.mark.slow

torch.set_num_threads(1)


def raw_config(dropout: float = 0.0, **train: Any) -> dict[str, Any]:
    """A tiny 4-d experiment with maxout D; dropout 0 unless asked, so runs compare exactly."""
    return {
        "name": "speed",
        "seed": 3,
        "device": "cpu",
        "data": {"name": "mixture", "means": [[0, 0, 1, 1], [2, 2, 0, 0]], "std": 0.2, "train_size": 256, "held_out_size": 64},
        "noise": {"dim": 3},
        "generator": {"hidden": [{"units": 16, "activation": "relu"}, {"units": 16, "activation": "relu"}]},
        "discriminator": {
            "hidden": [{"units": 8, "activation": "maxout", "pieces": 3, "dropout": dropout}, {"units": 8, "activation": "maxout", "pieces": 3, "dropout": dropout}],
            "output_dropout": dropout,
        },
        "train": {
            "batch_size": 32,
            "steps": 10,
            "optimizer": {"name": "sgd", "lr": 0.05, "lr_schedule": {"name": "exponential", "decay": 1.01}, "momentum_schedule": {"name": "linear", "saturate_epoch": 3}},
            **train,
        },
    }


def trainer(raw: dict[str, Any]) -> Trainer:
    cfg = config.from_dict(raw)
    return Trainer(cfg, data.load(cfg), torch.device("cpu"))


def params(tr: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in (*tr.G.parameters(), *tr.D.parameters())]


# ---------------------------------------------------------------- the eager step's algebra


# ---------------------------------------------------------------- PaperSGD with lr on the device


# ---------------------------------------------------------------- CUDA graphs


def test_cuda_graphs_are_refused_without_cuda() -> None:
    with pytest.raises(GanError, match="train.cuda_graphs"):
        config.from_dict(raw_config(cuda_graphs=True))  # device: cpu
    raw = raw_config(cuda_graphs=True)
    raw["device"] = "auto"
    cfg = config.from_dict(raw)
    with pytest.raises(GanError, match="train.cuda_graphs: needs a CUDA device"):
        speed.StepOptions(cfg, torch.device("cpu"), torch.nn.Identity(), torch.nn.Identity())


def test_cuda_graphs_need_paper_sgd_and_not_compile() -> None:
    raw = raw_config(cuda_graphs=True, compile=True)
    raw["device"] = "cuda"
    raw["train"]["optimizer"] = {"name": "adam"}
    with pytest.raises(GanError) as info:
        config.from_dict(raw)
    text = str(info.value)
    assert "train.cuda_graphs: cannot be combined with train.compile" in text
    assert "train.cuda_graphs: needs train.optimizer.name sgd" in text


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_replaying_the_captured_updates_trains_like_the_eager_step(update: str) -> None:
    """The replay driver (static index, schedule on the device, counters) with an eager stand-in
    for the CUDA graph: the same seed must give the same nets as the plain eager loop."""
    eager, replayed = trainer(raw_config(dropout=0.2, update=update, k=2)), trainer(raw_config(dropout=0.2, update=update, k=2))
    torch.manual_seed(11)
    for _ in range(6):  # crosses epoch boundaries (8 batches per epoch): momentum changes
        eager.train_step()
    torch.manual_seed(11)
    replayed.fast.captured = speed.CapturedUpdates(replayed.fast.eager, update, capture=lambda body: body)
    for _ in range(6):
        replayed.train_step()
    assert (replayed.step, replayed.d_updates) == (eager.step, eager.d_updates)
    for p, q in zip(params(eager), params(replayed)):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.tensor(list(eager.acc.read().values())), torch.tensor(list(replayed.acc.read().values())))


def test_a_nan_rollback_drops_the_recorded_updates_so_they_are_recorded_again(tmp_path: Path) -> None:
    """After a rollback the optimizers hold new momentum tensors: replaying graphs recorded before
    would step the old ones, so the captured updates must be recorded anew."""
    from gan_cli.training import nan_guard, run

    tr = trainer(raw_config(update="alternating", k=1))
    tr.fast.captured = speed.CapturedUpdates(tr.fast.eager, "alternating", capture=lambda body: body)
    tr.train_step()
    ckpt = run.save_checkpoint(tr, tmp_path, keep=0)
    tr.train_step()
    tr.roll_back(nan_guard.Rollback(ckpt, lr_scale=0.5, count=1, limit=3))
    assert tr.fast.captured is None and tr.step == 1
    tr.train_step()  # and training goes on
    assert tr.step == 2


# ---------------------------------------------------------------- bf16 and compile


def test_bf16_autocast_keeps_float32_weights_and_close_losses() -> None:
    ref, low = trainer(raw_config()), trainer(raw_config(precision="bf16"))
    for tr in (ref, low):
        torch.manual_seed(5)
        for _ in range(3):
            tr.train_step()
    assert all(p.dtype == torch.float32 for p in params(low))
    a, b = ref.acc.read(), low.acc.read()
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=0.02), key
    assert a != b, "bf16 should round somewhere: is autocast on?"


def test_bf16_is_refused_where_autocast_cannot_run() -> None:
    cfg = config.from_dict(raw_config(precision="bf16"))
    with pytest.raises(GanError, match="train.precision"):
        speed.StepOptions(cfg, torch.device("meta"), torch.nn.Identity(), torch.nn.Identity())


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_compiled_step_gives_the_eager_losses(update: str) -> None:
    why = speed.compile_available()
    if why:
        pytest.skip(why)
    ref, fast = trainer(raw_config(update=update)), trainer(raw_config(update=update, compile=True))
    assert fast.fast.options.G is not fast.G, "train.compile should wrap the nets"
    for tr in (ref, fast):
        torch.manual_seed(7)
        for _ in range(3):
            tr.train_step()
    a, b = ref.acc.read(), fast.acc.read()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    for p, q in zip(params(ref), params(fast)):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert set(fast.state_dict()["generator"]) == set(ref.state_dict()["generator"]), "checkpoints keep plain names"


# ---------------------------------------------------------------- the fast layers
