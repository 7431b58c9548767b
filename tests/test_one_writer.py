"""Nothing lost when two commands meet: one writer per run directory (an OS lock that dies with its
process), readers never blocked; writers replace only regular files and keep the umask; inputs
that expand (YAML aliases) are bounded before anything is built."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import REPO, child_env, gan, one_clean_error, tiny_toy_config, write_config

from gan_cli.config.yaml_io import MAX_EXPANDED_NODES
from gan_cli.errors import GanError
from gan_cli.run_dir import RunDir


def trained(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    run = tmp_path / "run"
    result = gan("train", cfg, "--out", run)
    assert result.exit_code == 0, result.output
    return run


def hold(lock: str, run: Path) -> subprocess.Popen[str]:
    """Another process holding the run's `lock` (as a running `gan train` or `gan eval` would)."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from gan_cli.run_dir import RunDir
        with RunDir(Path({str(run)!r})).writer({lock!r}, "gan train elsewhere"):
            print("HELD", flush=True)
            sys.stdin.readline()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)


# ---------------------------------------------------------------- one writer per run


@pytest.mark.parametrize("args", [["--resume"], []], ids=["resume", "new-run-same-out"])
def test_a_second_gan_train_on_a_run_being_written_is_one_line_naming_the_holder(tmp_path: Path, args: list[str]) -> None:
    """A resume beside a running resume; a new run into the empty directory another start has just locked."""
    run = trained(tmp_path) if args else tmp_path / "empty"
    run.mkdir(exist_ok=True)
    write_config(tmp_path / "c.yaml", tiny_toy_config())
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and not p.name.startswith(".lock")}
    holder = hold("train", run)
    try:
        message = one_clean_error(gan("train", tmp_path / "c.yaml", "--out", run, *args, "--set", "train.steps=20"))
    finally:
        release(holder)
    assert f"is being written by process {holder.pid} (gan train elsewhere)" in message
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and not p.name.startswith(".lock")}
    assert after == before, "the refused command wrote nothing"


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    run = trained(tmp_path)
    holder = hold("train", run)
    holder.kill()  # a crash: no clean release
    holder.wait(timeout=60)
    result = gan("train", "--resume", run, "--set", "train.steps=16")
    assert result.exit_code == 0, result.output


def test_readers_and_evaluations_go_on_while_a_run_trains(tmp_path: Path) -> None:
    run = trained(tmp_path)
    holder = hold("train", run)
    try:
        assert gan("sample", "--ckpt", run, "-n", "8", "--out", tmp_path / "s.npy").exit_code == 0
        result = gan("eval", "--ckpt", run, "--num-samples", "200")
        assert result.exit_code == 0, result.output
    finally:
        release(holder)
    assert (run / "eval.json").is_file()


def test_two_evaluations_never_write_one_run_at_once(tmp_path: Path) -> None:
    run = trained(tmp_path)
    holder = hold("outputs", run)
    try:
        message = one_clean_error(gan("eval", "--ckpt", run, "--num-samples", "200"))
    finally:
        release(holder)
    assert f"process {holder.pid}" in message and not (run / "eval.json").exists()


def test_a_run_directory_holding_only_its_lock_is_still_empty(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.create(only_root=True)
    with run.writer("train", "gan train"):
        assert not run.is_nonempty()
    assert (run.path / ".lock-train").read_text() == "", "a free lock names no holder"


# ---------------------------------------------------------------- only regular files are replaced


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_outputs_never_replace_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    run = trained(tmp_path)
    target = tmp_path / "out.json"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "precious.json").write_text("keep")
        target.symlink_to(tmp_path / "precious.json")
    else:
        target = Path("/dev/null")
    message = one_clean_error(gan("eval", "--ckpt", run, "--num-samples", "200", "--json", target))
    assert "refusing to replace it" in message
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    elif kind == "symlink":
        assert target.is_symlink() and (tmp_path / "precious.json").read_text() == "keep"
    else:
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_run_file_that_became_a_fifo_stops_training_before_it_blocks(tmp_path: Path) -> None:
    run = trained(tmp_path)
    (run / "metrics.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    message = one_clean_error(gan("train", "--resume", run, "--set", "train.steps=16"))
    assert "metrics.jsonl" in message and "FIFO" in message


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run = trained(tmp_path)
    finally:
        os.umask(old)
    for path in (run / "checkpoints" / "last.pt", run / "config.yaml", next((run / "samples").glob("*.png"))):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# ---------------------------------------------------------------- inputs that expand


BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def test_a_yaml_alias_bomb_in_a_config_is_one_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "name: x\n")
    message = one_clean_error(gan("train", path, "--dry-run"))
    assert f"expand to more than {MAX_EXPANDED_NODES:,} values" in message


def test_a_yaml_alias_bomb_in_a_set_value_is_one_line_at_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    bomb = "{" + BOMB.replace("\n", ", ").rstrip(", ") + "}"
    result = gan("train", cfg, "--dry-run", "--set", f"generator.hidden={bomb}")
    assert result.exit_code == 1 and "expand to more than" in result.output and len(result.output) < 2_000


def test_a_yaml_alias_bomb_in_a_sweep_file_is_one_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(BOMB + f"base: {REPO / 'configs' / 'ring8.yaml'}\nseeds: 2\n")
    message = one_clean_error(gan("sweep", path))
    assert "expand to more than" in message


def test_a_long_value_in_a_message_is_cut(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    result = gan("train", cfg, "--dry-run", "--set", "seed=" + "x" * 100_000)
    assert result.exit_code == 1 and len(result.output) < 1_000


def test_a_directory_given_as_the_config_says_so(tmp_path: Path) -> None:
    message = one_clean_error(gan("train", tmp_path))
    assert "is a directory" in message


def test_shown_bounds_any_value() -> None:
    from gan_cli.errors import shown

    assert len(shown("x" * 10_000)) <= 80 and len(shown([list(range(1000))] * 1000)) <= 80
    with pytest.raises(GanError):
        raise GanError(shown(object()))


# ---------------------------------------------------------------- distributed environments


def _train_with_env(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    full = {**child_env(), **env}
    return subprocess.run(
        [sys.executable, "-m", "gan_cli", "train", str(cfg), "--out", str(tmp_path / "run")],
        env=full, capture_output=True, text=True, timeout=120,
    )


def test_world_size_without_rank_is_one_line(tmp_path: Path) -> None:
    done = _train_with_env(tmp_path, WORLD_SIZE="2")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "RANK, MASTER_ADDR, MASTER_PORT are not set" in done.stderr and not (tmp_path / "run").exists()


def test_a_stale_distributed_environment_fails_within_its_bound(tmp_path: Path) -> None:
    from helpers import free_port

    done = _train_with_env(
        tmp_path, WORLD_SIZE="2", RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), GAN_RENDEZVOUS_TIMEOUT_S="2"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "could not meet the other processes" in done.stderr and "within 2 s" in done.stderr


def test_a_resume_never_drops_g_s_average_silently(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(train={**tiny_toy_config()["train"], "ema": {"decay": 0.9}}))
    run = tmp_path / "run"
    assert gan("train", cfg, "--out", run).exit_code == 0
    result = gan("train", "--resume", run, "--set", "train.ema.decay=null", "--set", "train.steps=16")
    assert result.exit_code == 1 and "train.ema.decay" in result.output and "moving average" in result.output
    assert gan("train", "--resume", run, "--set", "train.ema.decay=0.8", "--set", "train.steps=16").exit_code == 0


# ---------------------------------------------------------------- sweeps: count first, then bound


def _sweep_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"base: {REPO / 'configs' / 'ring8.yaml'}\n{extra}")
    return path


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("seeds: 1000000000\n", "a count must be between 1 and 10,000"),
        ("seeds: [4294967296]\n", "above the largest seed"),
        ("grid: {train.k: [" + ", ".join(map(str, range(1, 1001))) + "], train.batch_size: [" + ", ".join(map(str, range(1, 1001))) + "]}\n", "1,000,000 trials"),
    ],
    ids=["huge-count", "seed-above-2^32", "huge-grid"],
)
def test_a_sweep_spec_is_counted_and_bounded_before_anything_starts(tmp_path: Path, extra: str, expected: str) -> None:
    import time

    start = time.monotonic()
    result = gan("sweep", _sweep_file(tmp_path, extra))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert expected in result.stderr and time.monotonic() - start < 30


def test_a_trial_id_fits_a_file_name() -> None:
    from gan_cli.sweep import spec as spec_mod

    spec = spec_mod.SweepSpec(Path("s.yaml"), "s", {}, [0], {"data.path": ["x" * 600, "y" * 600]}, {}, {}, 1, 0, "value", None)
    ids = [t.trial_id for t in spec.trials()]
    assert len(set(ids)) == 2 and all(len(i.encode()) <= spec_mod.NAME_MAX for i in ids)


def test_a_sweep_whose_file_was_edited_is_not_resumed_as_the_same_sweep(tmp_path: Path) -> None:
    from gan_cli.commands.sweep import _new_sweep_dir
    from gan_cli.sweep import spec as spec_mod

    sweep_dir = _new_sweep_dir(spec_mod.load(_sweep_file(tmp_path, "seeds: 2\ngrid: {train.k: [1, 2]}\n")), tmp_path / "sw")
    spec_file = sweep_dir / "sweep.yaml"
    spec_file.write_text(spec_file.read_text().replace("- 2\n", "- 3\n"))
    message = one_clean_error(gan("sweep", "--resume", sweep_dir))
    assert "changed since the sweep started" in message


# ---------------------------------------------------------------- messages


ALLOCATOR = "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried to allocate 31360000000 bytes."


def test_out_of_memory_in_sample_is_one_line_naming_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = trained(tmp_path)

    def too_big(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR)

    monkeypatch.setattr("gan_cli.commands.sample.generate", too_big)
    message = one_clean_error(gan("sample", "--ckpt", run, "-n", "10000000", "--out", tmp_path / "s.npy"))
    assert "-n 10,000,000" in message and "31.4 GB" in message


def test_out_of_memory_building_the_nets_is_one_line_naming_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def too_big(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR)

    monkeypatch.setattr("gan_cli.training.ranks.Solo.trainer", too_big)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config())
    message = one_clean_error(gan("train", cfg, "--out", tmp_path / "run"))
    assert "generator.hidden" in message and "31.4 GB" in message


def test_an_image_folder_reads_regular_files_only(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(60):
        Image.fromarray((np.random.default_rng(i).random((8, 8)) * 255).astype("uint8")).save(folder / f"{i}.png")
    os.mkfifo(folder / "blocking.png")
    cfg = tiny_toy_config(data={"name": "folder", "path": str(folder)}, generator={"hidden": [{"units": 8}], "output_activation": "sigmoid"})
    done = subprocess.run(  # a child with a time limit: the bug this guards against is a read that never returns
        [sys.executable, "-m", "gan_cli", "train", str(write_config(tmp_path / "c.yaml", cfg)), "--dry-run"],
        env=child_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_a_relative_data_root_is_stored_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "c.yaml", tiny_toy_config(data={**tiny_toy_config()["data"], "root": "mydata"}))
    assert gan("train", cfg, "--out", tmp_path / "run").exit_code == 0
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["root"]
    assert stored == str(tmp_path / "mydata")
    monkeypatch.chdir(tmp_path / "run")  # resumed from elsewhere: the same data
    assert gan("train", "--resume", tmp_path / "run", "--set", "train.steps=16").exit_code == 0


def test_sweep_address_where_something_else_listens_fails_in_seconds(tmp_path: Path) -> None:
    import socket
    import threading
    import time

    pytest.importorskip("ray")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:  # an HTTP/1 server, say: it reads and answers something that is not HTTP/2
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    start = time.monotonic()
    try:
        message = one_clean_error(gan("sweep", _sweep_file(tmp_path, "seeds: 1\n"), "--address", f"127.0.0.1:{port}"))
    finally:
        server.close()
    assert "but not Ray" in message and time.monotonic() - start < 20


def test_ctrl_c_while_ray_starts_stops_ray_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from gan_cli.errors import Stopped
    from gan_cli.sweep import engine

    ray = pytest.importorskip("ray")
    calls: list[str] = []

    def init(**kwargs: object) -> None:
        calls.append("init")
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C inside ray.init

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    with pytest.raises(Stopped) as info:
        with engine.connect(None, 1):
            pass
    assert calls == ["init", "shutdown"] and info.value.code == 130 and "while Ray was starting" in info.value.message
