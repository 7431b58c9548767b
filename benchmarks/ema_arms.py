"""One training run, several generators read from it: G's raw weights and moving averages of them.

    python benchmarks/ema_arms.py configs/mnist.yaml --set data.root=/path/to/mnist --out runs/arms-uniform \
        --epochs 100 --arms raw 0.999 0.9995 0.9999 0.9999:none --every 5

An EMA of G does not change training (D always plays the raw G), so one run compares every decay
against the raw G at exactly equal epochs and seed, at the cost of one run. Each arm is `raw` or
`DECAY[:RAMPUP]` (rampup as train.ema.rampup, default 0.1; `none` = decay from the first update).
Every `--every` epochs each arm is scored on validation images only: Parzen windows on
`--kernels` samples of the arm's G (one fixed noise draw, the same for every arm), sigma chosen
from numpy.logspace(-1, 0, 10) on validation images 0..999, the mean log-likelihood (nats) +- s.e.
over validation images 1,000..1,000+`--scored` (the test split is never touched here).
Rows go to OUT/curves.jsonl (epoch, step, train wall seconds, arm, valid Parzen, s.e., sigma); at
each scoring, OUT/ARM.pt is a gan-cli checkpoint whose `ema` holds that arm (raw: no `ema`), so
`gan eval --ckpt OUT/ARM.pt --split test` scores it with the paper's protocol. SIGTERM stops the
run after the current step; it does not resume (start a new OUT).

    python benchmarks/ema_arms.py --score-run RUN_DIR [--kernels 10000 --scored 2000]

scores the periodic checkpoints (checkpoints/step_*.pt) of a `gan train` run the same way, G's
average (when the run has train.ema) and the raw G, into RUN_DIR/curves.jsonl; train_s is the
checkpoint's training seconds. The kernel noise is drawn from the run's config exactly as above,
so a run and an arm of the same config and seed are scored on the same noise.

    python benchmarks/ema_arms.py --score-run RUN_DIR --average-from STEP

scores the uniform average (weight by weight) of G at the run's checkpoints from STEP on against
the last of them alone: whether a longer average than the run's own would have helped.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_cli import checkpoint, data, models, optim  # noqa: E402
from gan_cli import config as config_mod  # noqa: E402
from gan_cli.evaluate import parzen  # noqa: E402
from gan_cli.run_dir import RunDir  # noqa: E402
from gan_cli.training.loop import Trainer  # noqa: E402

ARM_NOISE_SEED = 4_000_003


def kernel_noise(cfg: config_mod.Config, n: int) -> torch.Tensor:
    """The fixed noise whose images under each G are the Parzen kernels (its own generator)."""
    gen = torch.Generator().manual_seed(cfg.seed + ARM_NOISE_SEED)
    return models.sample_noise(n, cfg.noise.dim, cfg.noise.prior, cfg.noise.scale, torch.device("cpu"), gen)


def score(G: torch.nn.Module, noise: torch.Tensor, chooser: torch.Tensor, scored: torch.Tensor) -> dict[str, float]:
    """Validation Parzen of G: sigma from the paper's grid on `chooser`, mean +- s.e. over `scored`."""
    with models.eval_mode(G):
        centres = G(noise)
    res = parzen.paper_protocol(centres, chooser, scored)
    return {"valid_parzen": res["mean"], "stderr": res["stderr"], "sigma": res["sigma"]}


def score_run(run_dir: Path, kernels: int, n_scored: int) -> None:
    """Score every periodic checkpoint of a gan train run (average and raw G) into RUN_DIR/curves.jsonl."""
    from gan_cli.sample import load_models

    steps = RunDir(run_dir).step_checkpoints()
    if not steps:
        raise SystemExit(f"{run_dir} has no checkpoints/step_*.pt")
    first = load_models(steps[0][1], torch.device("cpu"), "raw")
    ds = data.load(first.cfg)
    chooser, scored = ds.valid[:1000], ds.valid[1000 : 1000 + n_scored]
    noise = kernel_noise(first.cfg, kernels)
    with open(run_dir / "curves.jsonl", "w", encoding="utf-8") as rows:
        for step, path in steps:
            arms = [("raw", load_models(path, torch.device("cpu"), "raw"))]
            average = load_models(path, torch.device("cpu"))  # G's average, where the run kept one
            if average.weights == "ema":
                e = average.cfg.train.ema
                arms.append((arm_name(e.decay, e.rampup), average))
            for name, loaded in arms:
                row = {
                    "epoch": round(float(loaded.ckpt["epoch"]), 2),
                    "step": step,
                    "train_s": round(float(loaded.ckpt["schedule"]["elapsed"]), 1),
                    "arm": name,
                    **score(loaded.G, noise, chooser, scored),
                }
                rows.write(json.dumps(row) + "\n")
                rows.flush()
                print(json.dumps(row), flush=True)


def score_checkpoint_average(run_dir: Path, first_step: int, kernels: int, n_scored: int) -> None:
    """G (its average, where the run kept one) at the run's checkpoints from `first_step` on, averaged
    uniformly weight by weight, scored as above against the last of them alone."""
    from gan_cli.sample import load_models

    steps = [path for step, path in RunDir(run_dir).step_checkpoints() if step >= first_step]
    if len(steps) < 2:
        raise SystemExit(f"{run_dir}: fewer than two checkpoints/step_*.pt from step {first_step}")
    loaded = [load_models(path, torch.device("cpu")) for path in steps]
    ds = data.load(loaded[0].cfg)
    chooser, scored = ds.valid[:1000], ds.valid[1000 : 1000 + n_scored]
    noise = kernel_noise(loaded[0].cfg, kernels)
    last = loaded[-1].G
    average = copy.deepcopy(last)
    average.load_state_dict(
        {k: torch.stack([m.G.state_dict()[k].float() for m in loaded]).mean(0) for k in last.state_dict()}
    )
    for name, G in (("last", last), (f"uniform average of {len(steps)} checkpoints", average)):
        print(
            json.dumps(
                {"model": name, "steps": [int(p.stem.split("_")[1]) for p in steps], **score(G, noise, chooser, scored)}
            ),
            flush=True,
        )


def arm_name(decay: float, rampup: float | None) -> str:
    """The --arms spelling of an average: '0.999' (rampup 0.1), '0.9995:none', '0.999:0.05'."""
    return f"{decay}" if rampup == 0.1 else f"{decay}:{'none' if rampup is None else rampup}"


def parse_arm(text: str) -> tuple[float, float | None] | None:
    """'raw' -> None; '0.999' -> (0.999, 0.1); '0.9999:none' -> (0.9999, None); '0.999:0.05' -> (0.999, 0.05)."""
    if text == "raw":
        return None
    decay, _, rampup = text.partition(":")
    return float(decay), (None if rampup == "none" else float(rampup) if rampup else 0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path, nargs="?")
    ap.add_argument(
        "--set", dest="overrides", action="append", default=[], help="config override KEY=VALUE (repeatable)"
    )
    ap.add_argument("--out", type=Path)
    ap.add_argument("--epochs", type=int)
    ap.add_argument(
        "--score-run", type=Path, help="score the periodic checkpoints of this gan train run instead of training"
    )
    ap.add_argument(
        "--average-from", type=int, help="with --score-run: score the uniform average of the checkpoints from this step"
    )
    ap.add_argument("--arms", nargs="+", default=["raw", "0.999", "0.9999"])
    ap.add_argument("--every", type=int, default=5, help="epochs between scorings")
    ap.add_argument("--kernels", type=int, default=10_000)
    ap.add_argument(
        "--scored", type=int, default=2_000, help="validation images scored (after the 1,000 that choose sigma)"
    )
    ap.add_argument(
        "--save-every",
        type=int,
        default=0,
        help="also keep OUT/ARM_epNNNN.pt every this many epochs (0: only the latest)",
    )
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.score_run is not None and args.average_from is not None:
        score_checkpoint_average(args.score_run, args.average_from, args.kernels, args.scored)
        return
    if args.score_run is not None:
        score_run(args.score_run, args.kernels, args.scored)
        return
    if args.config is None or args.out is None or args.epochs is None:
        ap.error("training needs CONFIG, --out and --epochs")
    args.out.mkdir(parents=True, exist_ok=False)

    cfg = config_mod.load(args.config, args.overrides + ["device=cpu"])
    ds = data.load(cfg)
    tr = Trainer(cfg, ds, torch.device("cpu"))
    arms: dict[str, optim.WeightEMA | None] = {}
    for text in args.arms:
        spec = parse_arm(text)
        arms[text] = None if spec is None else optim.WeightEMA(tr.G, spec[0], spec[1])
    chooser, scored = ds.valid[:1000], ds.valid[1000 : 1000 + args.scored]
    noise = kernel_noise(cfg, args.kernels)
    (args.out / "config.yaml").write_text(config_mod.dump_yaml(cfg))
    (args.out / "command.txt").write_text(" ".join(sys.argv) + "\n")

    stop: list[str] = []
    signal.signal(signal.SIGTERM, lambda s, f: stop.append("SIGTERM"))
    per_epoch = tr.sampler.batches_per_epoch
    total = args.epochs * per_epoch
    train_s = 0.0
    with open(args.out / "curves.jsonl", "a", encoding="utf-8") as rows:
        while tr.step < total and not stop:
            t0 = time.perf_counter()
            tr.train_step()
            for ema in arms.values():
                if ema is not None:
                    ema.update()
            train_s += time.perf_counter() - t0
            if tr.step % per_epoch:
                continue
            epoch = tr.step // per_epoch
            if epoch % args.every and tr.step < total:
                continue
            state = tr.state_dict()
            for name, ema in arms.items():
                G = tr.G if ema is None else ema.average
                res = score(G, noise, chooser, scored)
                row = {"epoch": epoch, "step": tr.step, "train_s": round(train_s, 1), "arm": name, **res}
                rows.write(json.dumps(row) + "\n")
                rows.flush()
                print(json.dumps(row), flush=True)
                ckpt = {k: v for k, v in state.items() if k != "ema"}
                if ema is not None:
                    ckpt["ema"] = ema.state_dict()
                tag = name.replace(":", "_")
                checkpoint.atomic_save(ckpt, args.out / f"{tag}.pt")
                if args.save_every and epoch % args.save_every == 0:
                    checkpoint.atomic_save(ckpt, args.out / f"{tag}_ep{epoch:04d}.pt")
            if not math.isfinite(res["valid_parzen"]):
                break
    print(
        f"# stopped at step {tr.step} (epoch {tr.step / per_epoch:.2f}){' on ' + stop[0] if stop else ''}", flush=True
    )


if __name__ == "__main__":
    main()
