"""gan_cli/optim.py: the paper's optimizer form and schedules against their formulas, PaperSGD with
its hyperparameters on the device, and train.ema (WeightEMA), its checkpoint and who uses it."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import metrics_rows, toy_config, train_experiment, without_timing, write_config
from typer.testing import CliRunner

from gan_cli import checkpoint, data, optim, seeds
from gan_cli.cli import app
from gan_cli.config import LrScheduleConfig, MomentumScheduleConfig, OptimizerConfig, from_dict
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir
from gan_cli.training import selection
from gan_cli.training.console import Reporter
from gan_cli.training.loop import Trainer

PAPER = OptimizerConfig(
    name="sgd",
    lr=0.1,
    sgd_form="paper",
    lr_schedule=LrScheduleConfig("exponential", 1.000004, 1e-6),
    momentum_schedule=MomentumScheduleConfig("linear", 0.5, 0.7, 250),
)


def test_lr_schedule_is_the_papers_decay_with_floor() -> None:
    assert optim.lr_at(PAPER, 0) == 0.1
    assert math.isclose(optim.lr_at(PAPER, 1000), 0.1 / 1.000004**1000)
    assert optim.lr_at(PAPER, 10**8) == 1e-6


def test_momentum_ramp_by_epoch() -> None:
    assert optim.momentum_at(PAPER, 1) == 0.5
    assert math.isclose(optim.momentum_at(PAPER, 125), 0.5 + 0.2 * 124 / 249)
    assert math.isclose(optim.momentum_at(PAPER, 250), 0.7)
    assert math.isclose(optim.momentum_at(PAPER, 900), 0.7)


def test_paper_sgd_matches_the_formula_with_decaying_lr() -> None:
    """v <- mu v - lr_t g; p <- p + v, with lr_t changing every step (differs from torch's form)."""
    cfg = OptimizerConfig(name="sgd", lr=0.5, sgd_form="paper", momentum=0.9, lr_schedule=LrScheduleConfig("exponential", 1.5, 1e-6))
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.build(cfg, [p])
    expected_p, v = p.detach().clone(), torch.zeros(2)
    for t in range(4):
        lr, _ = optim.apply_schedule(opt, cfg, t, epoch=1)
        assert math.isclose(lr, 0.5 / 1.5**t)
        loss = (p**2).sum() * (t + 1)
        opt.zero_grad()
        loss.backward()
        g = 2 * expected_p * (t + 1)
        v = 0.9 * v - lr * g
        expected_p = expected_p + v
        opt.step()
        assert torch.allclose(p.detach(), expected_p, atol=1e-6)


def test_torch_form_differs_when_lr_changes() -> None:
    def run(form: str) -> torch.Tensor:
        cfg = OptimizerConfig(name="sgd", lr=0.5, sgd_form=form, momentum=0.9, lr_schedule=LrScheduleConfig("exponential", 2.0, 1e-6))
        p = torch.nn.Parameter(torch.tensor([1.0]))
        opt = optim.build(cfg, [p])
        for t in range(3):
            optim.apply_schedule(opt, cfg, t, epoch=1)
            opt.zero_grad()
            p.sum().backward()
            opt.step()
        return p.detach()

    # constant gradient 1: paper v = -0.5, -0.7, -0.755 ; torch v = 1, 1.9, 2.71 scaled by 0.5, 0.25, 0.125
    assert run("paper").item() == pytest.approx(1 - 0.5 - (0.45 + 0.25) - (0.63 + 0.125))
    assert run("torch").item() == pytest.approx(1 - 0.5 * 1 - 0.25 * 1.9 - 0.125 * 2.71)


def test_adam_is_built_with_the_configured_betas() -> None:
    cfg = OptimizerConfig(name="adam", lr=1e-3, betas=[0.5, 0.99])
    opt = optim.build(cfg, [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["betas"] == (0.5, 0.99)


def _adam_steps(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], grads: list[list[torch.Tensor]]) -> None:
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()


def test_adam_runs_fused_on_the_cpu_and_agrees_with_torchs_default_loop() -> None:
    """The fused kernel is chosen on a CPU and computes Adam's update: the same weights as the
    per-tensor loop (the algorithm's reference in torch) to float32 rounding, and the same state."""
    torch.manual_seed(0)
    start = [torch.randn(30, 20), torch.randn(20)]
    grads = [[torch.randn_like(t) for t in start] for _ in range(20)]
    cfg = OptimizerConfig(name="adam", lr=1e-2, betas=[0.5, 0.999], weight_decay=1e-3)
    fused = [torch.nn.Parameter(t.clone()) for t in start]
    loop = [torch.nn.Parameter(t.clone()) for t in start]
    opt = optim.build(cfg, fused)
    assert opt.param_groups[0]["fused"] is True
    reference = torch.optim.Adam(loop, lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3, foreach=False)
    _adam_steps(opt, fused, grads)
    _adam_steps(reference, loop, grads)
    assert not torch.equal(fused[0], start[0])
    for p, q in zip(fused, loop):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    for p, q in zip(fused, loop):
        torch.testing.assert_close(opt.state[p]["exp_avg_sq"], reference.state[q]["exp_avg_sq"], rtol=1e-6, atol=0)
        assert float(opt.state[p]["step"]) == float(reference.state[q]["step"]) == 20


def test_adam_is_not_fused_where_torch_has_no_kernel() -> None:
    assert not optim.fused_adam_supported([torch.nn.Parameter(torch.zeros(2, dtype=torch.int64), requires_grad=False)])
    assert not optim.fused_adam_supported([])


def test_loading_a_state_keeps_the_optimizers_own_kernel() -> None:
    """A checkpoint written by the per-tensor loop (before Adam ran fused) resumes on the fused
    kernel, with its moments and step count; and a fused state loads into a loop optimizer as a loop."""
    torch.manual_seed(1)
    cfg = OptimizerConfig(name="adam", lr=1e-2, betas=[0.5, 0.999])
    old_params = [torch.nn.Parameter(torch.randn(4, 3))]
    old = torch.optim.Adam(old_params, lr=1e-2, betas=(0.5, 0.999))
    _adam_steps(old, old_params, [[torch.randn(4, 3)] for _ in range(3)])
    saved = copy.deepcopy(old.state_dict())  # as from torch.load: load_state_dict would share its tensors
    assert saved["param_groups"][0]["fused"] is None
    new_params = [torch.nn.Parameter(old_params[0].detach().clone())]
    new = optim.build(cfg, new_params)
    optim.load_state(new, saved)
    assert new.param_groups[0]["fused"] is True
    assert float(new.state[new_params[0]]["step"]) == 3
    torch.testing.assert_close(new.state[new_params[0]]["exp_avg"], old.state[old_params[0]]["exp_avg"])
    grad = [[torch.randn(4, 3)]]
    _adam_steps(new, new_params, grad)
    _adam_steps(old, old_params, grad)
    torch.testing.assert_close(new_params[0], old_params[0], rtol=0, atol=1e-6)
    optim.load_state(old, copy.deepcopy(new.state_dict()))
    assert old.param_groups[0]["fused"] is None


# ---------------------------------------------------------------- PaperSGD with lr on the device


@pytest.mark.slow
def test_paper_sgd_reads_the_same_schedule_from_device_tensors() -> None:
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    host, dev = optim.PaperSGD(a, lr=0.1, momentum=0.5, weight_decay=0.01), optim.PaperSGD(b, lr=0.1, momentum=0.5, weight_decay=0.01)
    dev.keep_hyperparameters_on_device(torch.device("cpu"))
    for t in range(4):
        grads = [torch.randn_like(p) for p in a]
        for opt, ps in ((host, a), (dev, b)):
            for p, g in zip(ps, grads):
                p.grad = g.clone()
            opt.param_groups[0]["lr"] = 0.1 / 1.5**t  # the schedule changes lr and momentum each update
            opt.param_groups[0]["momentum"] = 0.5 + 0.05 * t
        dev.sync_hyperparameters()
        host.step()
        dev.step()
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    # and the device tensors, not the group's floats, drive the update once it is on
    lr_dev, mu_dev = (float(t) for t in dev._device_hyper[0])
    p0, v0 = b[0].detach().clone(), dev.state[b[0]]["velocity"].clone()
    dev.param_groups[0]["lr"] = 1.0  # not synced
    for p in b:
        p.grad = torch.ones_like(p)
    dev.step()
    torch.testing.assert_close(b[0].detach(), p0 + mu_dev * v0 - lr_dev * (1 + 0.01 * p0))


# ---------------------------------------------------------------- train.ema: optim.WeightEMA, its checkpoint, and who uses it


# train.ema: the moving average of G's weights, its arithmetic, its checkpoint, and who uses it.
#
# The average is w_ema <- beta_t w_ema + (1 - beta_t) w_G after every generator update, with
# beta_t = min(decay, r t / (1 + r t)) (train.ema.rampup r) or decay (rampup null). Training is
# unchanged by it; `gan sample`, `gan eval` and model selection use it unless told `--weights raw`.


runner = CliRunner()


EMA = {"decay": 0.9, "rampup": 0.5}


def gan(*args: Any):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def ema_config(steps: int, ema: dict[str, Any] | None = EMA, **log: Any) -> dict[str, Any]:
    train = {**toy_config()["train"], "steps": steps}
    if ema is not None:
        train["ema"] = ema
    return toy_config(data={"train_size": 160}, train=train, log={**toy_config()["log"], **log})


def train(cfg: dict[str, Any], tmp_path: Path, name: str, resume: bool = False, overrides: tuple[str, ...] = ()) -> Path:
    path = write_config(tmp_path / f"{name}.yaml", cfg)
    out = tmp_path / name
    assert train_experiment(str(path), list(overrides), out=str(out), resume=resume, reporter=Reporter(quiet=True)) == out
    return out


def test_decay_schedule_by_hand() -> None:
    assert optim.ema_decay_at(0.999, None, 1) == 0.999
    assert optim.ema_decay_at(0.999, 0.1, 1) == pytest.approx(0.1 / 1.1)
    assert optim.ema_decay_at(0.999, 0.1, 50) == pytest.approx(5 / 6)
    # the cap: r t / (1 + r t) passes 0.999 at r t = 999
    assert optim.ema_decay_at(0.999, 0.1, 9_980) == pytest.approx(998 / 999)
    assert optim.ema_decay_at(0.999, 0.1, 10_000) == 0.999


def test_weight_ema_against_a_hand_computation() -> None:
    """Three updates of a 2-weight module, decay 0.5, rampup 1: beta = 1/2, 1/2 (min(0.5, 2/3)), 1/2."""
    m = torch.nn.Linear(1, 1)
    with torch.no_grad():
        m.weight.fill_(1.0)
        m.bias.fill_(-2.0)
    ema = optim.WeightEMA(m, decay=0.5, rampup=1.0)
    expected_w, expected_b = 1.0, -2.0
    for new_w, new_b in [(3.0, 0.0), (5.0, 4.0), (-1.0, 2.0)]:
        with torch.no_grad():
            m.weight.fill_(new_w)
            m.bias.fill_(new_b)
        beta = ema.update()
        assert beta == 0.5
        expected_w = beta * expected_w + (1 - beta) * new_w
        expected_b = beta * expected_b + (1 - beta) * new_b
    # by hand: w 1 -> 2 -> 3.5 -> 1.25; b -2 -> -1 -> 1.5 -> 1.75
    assert (expected_w, expected_b) == (1.25, 1.75)
    assert ema.average.weight.item() == 1.25 and ema.average.bias.item() == 1.75
    assert ema.updates == 3
    assert not ema.average.training and not any(p.requires_grad for p in ema.average.parameters())


def test_rampup_makes_the_first_update_nearly_a_copy() -> None:
    m = torch.nn.Linear(2, 2)
    ema = optim.WeightEMA(m, decay=0.9999, rampup=0.1)
    start = m.weight.detach().clone()
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update()
    beta = 0.1 / 1.1
    assert torch.allclose(ema.average.weight, beta * start + (1 - beta) * m.weight.detach())


def test_trainer_averages_G_after_every_generator_update() -> None:
    """The trainer's average after 3 steps equals the average of G's weights after each step, by hand in float64."""
    cfg = from_dict(ema_config(3))
    tr = Trainer(cfg, data.load(cfg), torch.device("cpu"))
    expected = {k: v.double().clone() for k, v in tr.G.state_dict().items()}
    for t in (1, 2, 3):
        tr.train_step()
        beta = min(EMA["decay"], EMA["rampup"] * t / (1 + EMA["rampup"] * t))
        for k, v in tr.G.state_dict().items():
            expected[k] = beta * expected[k] + (1 - beta) * v.double()
    got = tr.eval_G.state_dict()
    for k in expected:
        assert torch.allclose(got[k].double(), expected[k], rtol=1e-6, atol=1e-7), k
    assert not torch.equal(got["out.weight"], tr.G.state_dict()["out.weight"])


def test_config_validation_names_the_key() -> None:
    for bad, msg in [({"decay": 1.0}, "train.ema.decay: must be < 1.0"), ({"decay": 0}, "train.ema.decay: must be > 0.0"),
                     ({"decay": 0.9, "rampup": -1}, "train.ema.rampup: must be > 0.0"), (0.999, "train.ema: expected a mapping")]:
        with pytest.raises(Exception, match=msg.replace(".", r"\.")):
            from_dict(ema_config(2, ema=bad))
    assert from_dict(ema_config(2, ema=None)).train.ema.decay is None  # off by default
    assert from_dict({**ema_config(2, ema=None), "train": {**ema_config(2, ema=None)["train"], "ema": None}}).train.ema.decay is None


def test_resume_with_ema_is_bit_exact(tmp_path: Path) -> None:
    """2N steps == N steps + resume for N more: G, D, optimizers and the average, bit for bit."""
    full = train(ema_config(8), tmp_path, "full")
    half = train(ema_config(4), tmp_path, "half")
    assert 0 < checkpoint.load(half)["data_order"]["position"] < 5, "the resume point must fall inside an epoch"
    result = gan("train", "--resume", half, "--set", "train.steps=8")
    assert result.exit_code == 0, result.output
    a, b = checkpoint.load(full), checkpoint.load(half)
    assert a["ema"]["updates"] == b["ema"]["updates"] == 8
    for part in ("generator", "discriminator"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    for k in a["ema"]["weights"]:
        assert torch.equal(a["ema"]["weights"][k], b["ema"]["weights"][k]), f"ema.{k}"
    assert without_timing(metrics_rows(half)) == without_timing(metrics_rows(full))


def test_ema_turned_on_at_a_resume_starts_from_the_loaded_G(tmp_path: Path) -> None:
    run = train(ema_config(4, ema=None), tmp_path, "plain")
    before = checkpoint.load(run)
    assert "ema" not in before
    result = gan("train", "--resume", run, "--set", "train.steps=5", "--set", "train.ema.decay=0.9", "--set", "train.ema.rampup=null")
    assert result.exit_code == 0, result.output
    after = checkpoint.load(run)
    assert after["ema"]["updates"] == 1
    # one update from the loaded step-4 G: 0.9 G_4 + 0.1 G_5
    for k, w5 in after["generator"].items():
        assert torch.allclose(after["ema"]["weights"][k], torch.lerp(before["generator"][k], w5, 0.1), atol=1e-7), k


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ema_runs")
    fast_eval = {"generated_samples": 200, "critic": {"steps": 20, "seeds": 1, "check_every": 10, "batch_size": 32}, "density": {"z_grid": 5000, "x_bins": 1000}}
    out = {}
    for name, ema in (("ema", {"decay": 0.99}), ("plain", None)):
        cfg = ema_config(12, ema=ema, checkpoint_every=4, keep=3)
        cfg["noise"] = {"dim": 1, "prior": "uniform", "scale": 1.0}
        cfg["eval"] = fast_eval
        out[name] = train(cfg, root, name)
    return out


def samples(run: Path, tmp: Path, *extra: str) -> np.ndarray:
    path = tmp / f"s{len(list(tmp.glob('*.npy')))}.npy"
    result = gan("sample", "--ckpt", run, "-n", 50, "--out", path, *extra)
    assert result.exit_code == 0, result.output
    return np.load(path)


def test_sample_uses_the_average_by_default_and_raw_on_request(runs: dict[str, Path], tmp_path: Path) -> None:
    default, ema, raw = samples(runs["ema"], tmp_path), samples(runs["ema"], tmp_path, "--weights", "ema"), samples(runs["ema"], tmp_path, "--weights", "raw")
    assert np.array_equal(default, ema)
    assert not np.allclose(ema, raw)
    # raw is G's own weights: the same numbers as the EMA-less path of load_models gives
    from gan_cli.sample import generate, load_models

    loaded = load_models(runs["ema"], torch.device("cpu"), "raw")
    assert loaded.weights == "raw"
    assert np.allclose(generate(loaded.G, loaded.cfg, 50, 0, torch.device("cpu")).numpy(), raw)
    assert load_models(runs["ema"], torch.device("cpu")).weights == "ema"


def test_checkpoints_without_an_average_load_as_before(runs: dict[str, Path], tmp_path: Path) -> None:
    assert np.array_equal(samples(runs["plain"], tmp_path), samples(runs["plain"], tmp_path, "--weights", "raw"))
    result = runner.invoke(app, ["sample", "--ckpt", str(runs["plain"]), "--weights", "ema", "--out", str(tmp_path / "x.npy")])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "--weights ema" in result.output and "no moving average" in result.output
    result = runner.invoke(app, ["sample", "--ckpt", str(runs["ema"]), "--weights", "mean", "--out", str(tmp_path / "x.npy")])
    assert result.exit_code == 1 and "--weights mean: use ema" in result.output


def test_eval_reports_the_weights_it_used(runs: dict[str, Path], tmp_path: Path) -> None:
    reports = {}
    for which in ("default", "raw"):
        extra = [] if which == "default" else ["--weights", "raw"]
        result = gan("eval", "--ckpt", runs["ema"], "--json", tmp_path / f"{which}.json", *extra)
        assert result.exit_code == 0, result.output
        reports[which] = json.loads((tmp_path / f"{which}.json").read_text())
    assert reports["default"]["weights"] == "ema" and reports["raw"]["weights"] == "raw"
    assert reports["default"]["metrics"]["jsd_exact"]["value"] != reports["raw"]["metrics"]["jsd_exact"]["value"]
    result = runner.invoke(app, ["eval", "--ckpt", str(runs["plain"]), "--weights", "ema", "--json", str(tmp_path / "p.json")])
    assert result.exit_code == 1 and "no moving average" in result.output
    assert not (tmp_path / "p.json").exists()


def test_figure1_draws_the_averaged_G_in_its_last_panel(runs: dict[str, Path], tmp_path: Path) -> None:
    from gan_cli import toy
    from gan_cli.evaluate import density
    from gan_cli.sample import load_models

    result = gan("plot", "figure1", "--ckpt", runs["ema"], "--out", tmp_path / "f1.png")
    assert result.exit_code == 0, result.output
    printed = result.output.split("JSD(p_data || p_g) = ")[1].split(" nats")[0]
    jsd = {}
    for which in ("ema", "raw"):
        loaded = load_models(runs["ema"], torch.device("cpu"), which)
        c = loaded.cfg.noise
        jsd[which] = f"{density.exact_1d(density.numpy_generator(loaded.G), c.prior, c.scale, toy.from_config(loaded.cfg.data)).jsd:.4f}"
    assert printed == jsd["ema"] != jsd["raw"]


def test_selection_scores_the_average_and_logs_the_raw_G(tmp_path: Path) -> None:
    cfg = {**ema_config(10), "select": {"every_epochs": 1}}
    run = train(cfg, tmp_path, "sel")
    rows = [json.loads(line) for line in (RunDir(run).selection).read_text().splitlines()]
    assert len(rows) == 2  # 160 examples / 32 = 5 steps an epoch
    assert all(math.isfinite(r["valid_parzen"]) and math.isfinite(r["valid_parzen_raw"]) for r in rows)
    assert any(r["valid_parzen"] != r["valid_parzen_raw"] for r in rows)
    # the logged signal is that of best.pt's average, recomputed
    from gan_cli import models
    from gan_cli.sample import load_models

    best_row = max(rows, key=lambda r: r["valid_parzen"])
    loaded = load_models(RunDir(run).best, torch.device("cpu"))
    assert loaded.weights == "ema" and loaded.ckpt["step"] == best_row["step"]
    gen = torch.Generator().manual_seed(seeds.run_seed(loaded.cfg.seed, loaded.cfg.seed_scheme, seeds.TRAIN_SELECTION_NOISE))
    noise = models.sample_noise(loaded.cfg.select.kernels, loaded.cfg.noise.dim, loaded.cfg.noise.prior, loaded.cfg.noise.scale, torch.device("cpu"), gen)
    value, _ = selection.validation_parzen(loaded.G, data.load(loaded.cfg).valid[: loaded.cfg.select.valid_examples], noise)
    assert value == pytest.approx(best_row["valid_parzen"], abs=1e-6)


def test_linear_schedule_falls_by_epoch_from_start_to_end_then_holds() -> None:
    cfg = OptimizerConfig(lr=0.4, lr_schedule=LrScheduleConfig("linear", start_epoch=3, end_epoch=7, final=0.25))
    # lr0 (1 - (1 - final) clip((e - 3) / 4, 0, 1)): 0.4 through epoch 3, 0.1 from epoch 7
    assert [optim.lr_at(cfg, 10**6, e) for e in (1, 3)] == [0.4, 0.4]
    assert [round(optim.lr_at(cfg, 0, e), 12) for e in (4, 5, 6, 7, 100)] == [0.325, 0.25, 0.175, 0.1, 0.1]


def test_linear_schedule_with_final_above_one_rises_and_holds() -> None:
    cfg = OptimizerConfig(lr=0.2, lr_schedule=LrScheduleConfig("linear", start_epoch=10, end_epoch=12, final=2.0))
    assert [round(optim.lr_at(cfg, 0, e), 12) for e in (1, 10, 11, 12, 50)] == [0.2, 0.2, 0.3, 0.4, 0.4]


def test_linear_schedule_final_is_bounded() -> None:
    raw = {"train": {"optimizer": {"lr_schedule": {"name": "linear", "start_epoch": 1, "end_epoch": 2, "final": 11}}}}
    with pytest.raises(GanError, match="final"):
        from_dict(raw)


def test_schedules_agree_only_while_every_update_so_far_had_the_same_lr() -> None:
    constant = OptimizerConfig(lr=0.4)
    later = OptimizerConfig(lr=0.4, lr_schedule=LrScheduleConfig("linear", start_epoch=5, end_epoch=9))
    assert optim.schedules_agree(constant, later, updates=1000, epoch=5)
    assert not optim.schedules_agree(constant, later, updates=1000, epoch=6)
    assert optim.schedules_agree(later, later, updates=10**6, epoch=100)
    assert not optim.schedules_agree(constant, PAPER_LIKE_DECAY, updates=1, epoch=1)
    assert optim.schedules_agree(constant, PAPER_LIKE_DECAY, updates=0, epoch=0)


BY_BUDGET = OptimizerConfig(
    lr=0.2, lr_schedule=LrScheduleConfig("linear", start_epoch=200, end_epoch=202, final=4.0, start_at_budget=0.75)
)


def test_a_schedule_keyed_to_the_budget_holds_lr0_until_it_starts_then_keeps_its_length() -> None:
    waiting = optim.resolved(BY_BUDGET, None)
    assert [optim.lr_at(waiting, 0, e) for e in (1, 200, 500)] == [0.2, 0.2, 0.2]
    started = optim.resolved(BY_BUDGET, 150)  # started at the end of epoch 150: two epochs of rise, as 200 to 202
    assert [round(optim.lr_at(started, 0, e), 12) for e in (150, 151, 152, 300)] == [0.2, 0.5, 0.8, 0.8]
    assert optim.resolved(OptimizerConfig(lr=0.2), 150) == OptimizerConfig(lr=0.2)  # other schedules as they are


def test_a_schedule_keyed_to_the_budget_starts_at_its_fraction_of_train_max_minutes() -> None:
    # 0.75 of 60 minutes: 2,700 s of training
    assert not optim.budget_schedule_starts(BY_BUDGET, 2699.9, 60.0)
    assert optim.budget_schedule_starts(BY_BUDGET, 2700.0, 60.0)
    assert not optim.budget_schedule_starts(BY_BUDGET, 10**9, None)
    assert not optim.budget_schedule_starts(OptimizerConfig(lr=0.2), 10**9, 60.0)


def test_schedules_keyed_to_the_budget_agree_when_resolved_alike() -> None:
    """On resume: before the start, a budget-keyed rise had lr0, as an epoch-keyed one that starts later."""
    later = OptimizerConfig(lr=0.2, lr_schedule=LrScheduleConfig("linear", start_epoch=200, end_epoch=202, final=4.0))
    assert optim.schedules_agree(optim.resolved(BY_BUDGET, None), later, updates=10**5, epoch=200)
    assert not optim.schedules_agree(optim.resolved(BY_BUDGET, 150), later, updates=10**5, epoch=200)


PAPER_LIKE_DECAY = OptimizerConfig(lr=0.4, lr_schedule=LrScheduleConfig("exponential", 1.000004, 1e-6))
