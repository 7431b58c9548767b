"""gan_cli/cli.py: every command turns a user error into one line and exit 1, option limits (integer
extremes), signals outside the training loop, and `python -m gan_cli`. The commands themselves are
specified in tests/test_commands_*.py."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import yaml
from helpers import write_exp
from helpers import one_clean_error, tiny_toy_config, toy_config, write_config
from typer.testing import CliRunner

from gan_cli.cli import app

runner = CliRunner()


def gan(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, prog_name="gan")


def test_user_errors_exit_1_without_traceback_or_run_dir(tmp_path: Path) -> None:
    cfg = write_exp(tmp_path, tiny_toy_config(train={"steps": 3, "batch_size": 10_000}))
    result = gan("train", cfg, "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert "train.batch_size" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
    result = gan("train", tmp_path / "missing.yaml")
    assert result.exit_code == 1 and "config file not found" in result.output
    result = gan("train", cfg, "--set", "train.lr=1")
    assert result.exit_code == 1 and "did you mean 'train.optimizer.lr'" in result.output
    result = gan("sample", "--ckpt", tmp_path / "nothing")
    assert result.exit_code == 1 and "checkpoint not found" in result.output


def test_every_command_turns_gan_error_into_one_line_and_exit_1() -> None:
    """Each command goes through cli.user_errors; a new command without it would print a traceback."""
    from gan_cli.cli import plot_app, user_errors

    commands = [*app.registered_commands, *plot_app.registered_commands]
    assert len(commands) >= 6
    for command in commands:
        assert getattr(command.callback, "__wrapped__", None) is not None, command.callback.__name__
        assert command.callback.__code__ is user_errors(lambda: None).__code__, command.callback.__name__


def test_python_dash_m_entry_point() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "gan_cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("gan-cli ")


# ---------------------------------------------------------------- hostile inputs: integer extremes and signals


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


@pytest.mark.parametrize(
    "args, phrases",
    [
        (("bogus",), ("No such command 'bogus'", "see gan --help")),
        (("sample", "--bogus"), ("No such option: --bogus", "see gan sample --help")),
        (("sample", "-n", "-3"), ("'-n'", "see gan sample --help")),
        (("sample", "--cols", "1"), ("'--cols'", "see gan sample --help")),
        (("train", "--nproc", "0", "c.yaml"), ("'--nproc'", "see gan train --help")),
        (("sample",), ("Missing option '--ckpt'", "see gan sample --help")),
        (("eval",), ("'--ckpt'", "see gan eval --help")),
        (("eval", "--seed", "many"), ("'--seed'", "see gan eval --help")),
        (("plot", "curves"), ("Missing argument", "see gan plot curves --help")),
        (("plot", "nothing"), ("No such command 'nothing'", "see gan plot --help")),
    ],
)
def test_usage_errors_are_one_line_and_exit_1_like_every_user_error(args: tuple[str, ...], phrases: tuple[str, ...]) -> None:
    """Click's own parse errors (unknown command or option, a value outside an option's range, a
    missing option) keep the contract's exit 1 and one line, not click's usage block and exit 2."""
    message = one_clean_error(gan(*args))
    assert all(phrase in message for phrase in phrases), message
    assert "Usage:" not in message


@pytest.mark.skipif(os.name != "posix", reason="file names of any bytes are a POSIX thing")
def test_an_argument_that_is_not_utf8_is_refused_before_any_work(tmp_path: Path) -> None:
    # b"\xffrun" is a legal Linux name; Python passes it as the lone surrogate "\udcff". Training
    # into it created the run directory, then failed writing its lock file with a traceback
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    run = os.fsdecode(bytes(tmp_path) + b"/\xffrun")
    message = one_clean_error(gan("train", cfg, "--out", run))
    assert "the argument" in message and "\\xffrun" in message and "not UTF-8" in message
    assert os.listdir(tmp_path) == ["c.yaml"], "nothing was created"
    message = one_clean_error(gan("sample", "--ckpt", tmp_path / "missing", "--out", os.fsdecode(b"s\xe9.png")))
    assert "b's\\xe9.png'" in message


LONG = "a" * 300  # past NAME_MAX (255 bytes on Linux, macOS and Windows file systems)


@pytest.mark.parametrize(
    "args",
    [
        ("train", "CFG", "--out", LONG),
        ("train", "--resume", LONG),
        ("train", LONG + ".yaml"),
        ("sample", "--ckpt", "RUN", "--out", LONG + ".png"),
        ("sample", "--ckpt", LONG),
        ("eval", "--ckpt", "RUN", "--json", LONG + ".json"),
        ("eval", "--all", LONG),
        ("compare", "RUN", LONG),
        ("plot", "curves", "RUN", "--out", LONG + ".png"),
        ("sweep", LONG + ".yaml"),
    ],
)
def test_a_name_the_file_system_refuses_is_one_line(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """ENAMETOOLONG (like EACCES on a folder on the way) is raised wherever a path is first
    examined: it was a traceback in train, sample, eval, compare and plot, and 'config file not
    found' for a config. Every command now says the file and what the system said, and makes nothing."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    monkeypatch.chdir(tmp_path)
    named = [str(cfg) if a == "CFG" else str(finished) if a == "RUN" else a for a in args]
    message = one_clean_error(gan(*named))
    assert "File name too long" in message and "aaaa" in message
    assert len(message) < 400, "a name past the limit is cut, both ends kept"
    assert sorted(os.listdir(tmp_path)) == ["c.yaml"], "nothing was made"


NO_USER = "~nosuchuser-gan-cli/out"  # ~NAME of no user: pathlib fails as for ~ with HOME unset and no passwd entry


@pytest.mark.parametrize(
    "args",
    [
        ("train", "CFG", "--out", NO_USER),
        ("train", "--resume", NO_USER),
        ("sample", "--ckpt", "RUN", "--out", NO_USER + ".png"),
        ("eval", "--ckpt", "RUN", "--json", NO_USER + ".json"),
        ("compare", "RUN", NO_USER),
    ],
)
def test_a_tilde_with_no_home_directory_is_one_line(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """A container's user often has no home directory (HOME unset, no passwd entry); a quoted
    `--out '~/runs/x'` then reached pathlib's expanduser, whose RuntimeError was a traceback."""
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    monkeypatch.chdir(tmp_path)
    named = [str(cfg) if a == "CFG" else str(finished) if a == "RUN" else a for a in args]
    message = one_clean_error(gan(*named))
    assert "a path starts with ~, and this process has no home directory" in message
    assert sorted(os.listdir(tmp_path)) == ["c.yaml"], "nothing was made"


def test_gan_alone_prints_the_help() -> None:
    result = gan()
    assert "Usage: gan" in result.output and "train" in result.output and "error:" not in result.output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR1])
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

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    monkeypatch.setattr(cli, "app", lambda: receives(sig))
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert exit_.value.code == 130
    assert "interrupted" in capsys.readouterr().err
