"""The second hostile pass: contradictions and extremes are refused with one line naming the key or
option, before anything is created; a failed start can be reused; the resume hint pastes as printed."""

from __future__ import annotations

import os
import shlex
import signal
from pathlib import Path

import pytest
from helpers import gan, one_clean_error, tiny_toy_config, toy_config, write_config

from gan_cli import checkpoint


def refused(result) -> str:
    """A refused command: exit 1, one `error:` (a config's problems are listed under it, one a line), no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("error: ") == 1 and "Traceback" not in result.output, result.output
    return result.stderr


def _train_error(tmp_path: Path, cfg: dict | str, *extra: str) -> str:
    path = tmp_path / "c.yaml"
    if isinstance(cfg, str):
        path.write_text(cfg)
    else:
        write_config(path, cfg)
    out = tmp_path / "run"
    message = refused(gan("train", path, "--out", out, *extra))
    assert not out.exists(), "no run directory after a refused start"
    return message


# ---------------------------------------------------------------- strict loading


@pytest.mark.parametrize(
    "twice, line",
    [("train", 3), ("optimizer", 4), ("name", 2), ("lr", 4)],
)
def test_a_key_given_twice_in_yaml_is_refused_with_its_lines(tmp_path: Path, twice: str, line: int) -> None:
    docs = {
        "train": "name: a\ntrain: {batch_size: 8, k: 3, steps: 5}\ntrain: {steps: 5}\n",
        "optimizer": "name: a\ntrain:\n  optimizer: {lr: 0.1}\n  optimizer: {lr: 0.2}\n  steps: 3\n",
        "name": "name: a\nname: b\ntrain: {steps: 3}\n",
        "lr": "name: a\ntrain:\n  optimizer:\n    lr: 0.1\n    lr: 0.2\n  steps: 3\n",
    }
    doc = docs[twice]
    if twice == "optimizer":
        line = 4
    elif twice == "lr":
        line = 5
    message = _train_error(tmp_path, doc)
    assert f"line {line}: key '{twice}' appears a second time" in message


def test_an_lr_floor_above_the_lr_is_refused(tmp_path: Path) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "sgd", "lr": 1e-6, "lr_schedule": {"name": "exponential", "min_lr": 0.01}}})
    assert "train.optimizer.lr_schedule.min_lr: the floor 0.01 lies above train.optimizer.lr 1e-06" in _train_error(tmp_path, cfg)


@pytest.mark.parametrize("betas, index", [([1.0, 0.999], 0), ([0.5, 1.5], 1), ([-0.1, 0.9], 0), ([0.5, 1.0], 1)])
def test_adam_betas_torch_would_refuse_are_named_before_the_run(tmp_path: Path, betas: list[float], index: int) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "adam", "lr": 1e-3, "betas": betas}})
    assert f"train.optimizer.betas[{index}]: must lie in [0, 1)" in _train_error(tmp_path, cfg)


@pytest.mark.parametrize("key, text", [("lr", ".inf"), ("lr", ".nan"), ("weight_decay", ".inf"), ("momentum", ".nan")])
def test_non_finite_numbers_are_refused(tmp_path: Path, key: str, text: str) -> None:
    cfg = toy_config(train={"steps": 4, "optimizer": {"name": "sgd", "lr": 0.01}})
    assert f"train.optimizer.{key}: must" in _train_error(tmp_path, cfg, "--set", f"train.optimizer.{key}={text}")


@pytest.mark.parametrize("name", ["../escape", "/absolute", "", "..", "a/b", " padded"])
def test_a_run_name_cannot_leave_runs(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path / "c.yaml", toy_config(name=name, train={"steps": 4}))
    message = refused(gan("train", tmp_path / "c.yaml"))
    assert "name: " in message and "plain file name" in message
    assert not (tmp_path / "runs").exists() and not (tmp_path.parent / "escape").exists()


# ---------------------------------------------------------------- integer extremes at the command line


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, 10**30])
def test_train_seed_out_of_range(tmp_path: Path, seed: int) -> None:
    assert "seed: must be" in _train_error(tmp_path, toy_config(train={"steps": 4}), "--seed", str(seed))


@pytest.mark.parametrize("nproc", [257, 2**64, 10**20])
def test_nproc_beyond_one_machine_is_one_message_before_any_process_starts(tmp_path: Path, nproc: int) -> None:
    assert "--nproc" in _train_error(tmp_path, toy_config(train={"steps": 4}), "--nproc", str(nproc), "--dry-run")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("finished")
    cfg = write_config(tmp / "c.yaml", toy_config(train={"steps": 4}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8}))
    assert gan("train", cfg, "--out", tmp / "run").exit_code == 0
    return tmp / "run"


@pytest.mark.parametrize(
    "args, phrase",
    [
        (("sample", "--seed", str(2**64)), "--seed"),
        (("sample", "--seed", str(10**30)), "--seed"),
        (("sample", "--seed", "-5"), "--seed"),
        (("sample", "-n", str(10**18)), "-n"),
        (("sample", "--interpolate", "--cols", str(10**9)), "--cols"),
        (("eval", "--seed", str(2**63)), "--seed"),
        (("eval", "--num-samples", str(10**15)), "--num-samples"),
        (("eval", "--num-samples", "-3"), "--num-samples"),
    ],
)
def test_sample_and_eval_integer_extremes_are_one_message(finished: Path, args: tuple[str, ...], phrase: str) -> None:
    message = one_clean_error(gan(args[0], "--ckpt", finished, *args[1:]))
    assert phrase in message


# ---------------------------------------------------------------- --dry-run tells the truth


def test_dry_run_prints_the_device_chosen(tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", toy_config(device="auto", train={"steps": 4}))
    result = gan("train", tmp_path / "c.yaml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "device: auto" not in result.stdout
    assert "device: cpu" in result.stdout or "device: cuda" in result.stdout or "device: mps" in result.stdout


def test_dry_run_refuses_an_out_the_real_run_would_refuse(finished: Path, tmp_path: Path) -> None:
    write_config(tmp_path / "c.yaml", toy_config(train={"steps": 4}))
    assert "exists and is not empty" in one_clean_error(gan("train", tmp_path / "c.yaml", "--out", finished, "--dry-run"))


def test_dry_run_prints_config_and_parameter_counts_before_missing_data(tmp_path: Path) -> None:
    cfg = tiny_toy_config(
        data={"name": "mnist", "root": str(tmp_path / "nowhere"), "download": False},
        generator={"output_activation": "sigmoid", "hidden": [{"units": 8, "activation": "relu"}]},
    )
    write_config(tmp_path / "c.yaml", cfg)
    result = gan("train", tmp_path / "c.yaml", "--dry-run")
    assert "mnist files not found" in one_clean_error(result)
    assert "# generator parameters:" in result.stdout and "name: mnist" in result.stdout


# ---------------------------------------------------------------- a run that failed before its first checkpoint


def test_a_run_that_failed_before_its_first_checkpoint_is_reused_and_never_resumed(tmp_path: Path) -> None:
    cfg = toy_config(train={"steps": 4, "nan_policy": "stop", "optimizer": {"name": "sgd", "lr": 1e30}}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8})
    write_config(tmp_path / "c.yaml", cfg)
    out = tmp_path / "run"
    first = gan("train", tmp_path / "c.yaml", "--out", out)
    assert first.exit_code == 1 and (out / "config.yaml").is_file() and not (out / "checkpoints" / "last.pt").exists()
    resumed = one_clean_error(gan("train", "--resume", out))
    assert "stopped before its first checkpoint" in resumed and "without --resume" in resumed
    write_config(tmp_path / "good.yaml", toy_config(train={"steps": 4}, log={"every": 2, "checkpoint_every": 4, "samples_every": 4, "keep": 1, "picture_samples": 8}))
    again = gan("train", tmp_path / "good.yaml", "--out", out)
    assert again.exit_code == 0, again.output
    assert checkpoint.load(out)["step"] == 4
    assert "restarted: the earlier start" in (out / "command.txt").read_text()


def test_a_directory_with_other_files_is_still_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("x: 1\n")
    (out / "thesis.tex").write_text("my work\n")
    write_config(tmp_path / "c.yaml", toy_config(train={"steps": 4}))
    assert "exists and is not empty" in one_clean_error(gan("train", tmp_path / "c.yaml", "--out", out))
    assert (out / "thesis.tex").read_text() == "my work\n"


# ---------------------------------------------------------------- signals and the resume hint


def test_the_resume_hint_is_shell_quoted_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.training.run import Interrupted

    run = tmp_path / "my run; with spaces and a very long name that a terminal would otherwise wrap somewhere in the middle"
    ckpt = run / "checkpoints" / "last.pt"

    def interrupted(*args, **kwargs):
        raise Interrupted("SIGTERM", ckpt)

    monkeypatch.setattr("gan_cli.commands.train._prepare", interrupted)
    result = gan("train", tmp_path / "c.yaml")
    assert result.exit_code == 130
    hint = next(line for line in result.stderr.splitlines() if line.startswith("resume with: "))
    assert hint == f"resume with: gan train --resume {shlex.quote(str(run))}"
    assert shlex.split(hint.removeprefix("resume with: "))[-1] == str(run)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_training_starts_exits_130_even_with_sigint_ignored(sig: signal.Signals, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGINT or SIGTERM outside the training loop stops any command like Ctrl-C, exit 130, also when
    it started as a background job of a non-interactive shell (nohup, `&` in a script, a CI runner),
    which inherits SIGINT ignored (a sweep started that way once trained on after Ctrl-C)."""
    from gan_cli import cli

    def receives(signum: int) -> None:
        os.kill(os.getpid(), signum)
        for _ in range(10**6):  # the handler runs between bytecodes
            pass
        raise AssertionError(f"{signal.Signals(signum).name} was not turned into an interrupt")

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    monkeypatch.setattr(cli, "app", lambda: receives(sig))
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert exit_.value.code == 130
    assert "interrupted" in capsys.readouterr().err


# ---------------------------------------------------------------- checks before the work


def test_eval_on_a_too_small_validation_split_fails_before_any_critic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from helpers import write_idx

    raw = tmp_path / "mnist" / "MNIST" / "raw"
    rng = np.random.default_rng(0)
    write_idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (120, 28, 28)), gz=True)
    write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28)), gz=True)
    cfg = tiny_toy_config(
        data={"name": "mnist", "root": str(tmp_path / "mnist"), "download": False, "train_range": [0, 100], "valid_range": [100, 120]},
        generator={"output_activation": "sigmoid"},
        train={"steps": 2, "batch_size": 10},
        log={"every": 2, "checkpoint_every": 2, "samples_every": 2, "keep": 1, "picture_samples": 4},
    )
    write_config(tmp_path / "c.yaml", cfg)
    assert gan("train", tmp_path / "c.yaml", "--out", tmp_path / "run").exit_code == 0

    def no_critics(*args, **kwargs):
        raise AssertionError("critics trained before the split check")

    monkeypatch.setattr("gan_cli.evaluate.measure._critic_section", no_critics)
    message = one_clean_error(gan("eval", "--ckpt", tmp_path / "run", "--split", "valid", "--num-samples", "100"))
    assert "leaves 0 to score" in message
