"""Tests of gan_cli/memory_limits.py: a container's or a shell's memory limit below the machine's,
read from cgroup v1 and v2 trees laid out as the kernel does, from a real cgroup where the tests
may make one, and from a real `ulimit -v`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers import child_env

from gan_cli import devices, memory_limits
from gan_cli.errors import GanError
from gan_cli.memory_limits import Headroom

GIB = 1 << 30
V1_NONE = "9223372036854771712"  # what cgroup v1 writes for no limit


def _proc(tmp_path: Path, cgroup: str, mounts: list[str]) -> Path:
    """A fake /proc/self: its cgroup file and its mountinfo (one line per mount, after the fields)."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup + "\n", encoding="utf-8")
    lines = [f"{30 + i} 23 0:{40 + i} {m}" for i, m in enumerate(mounts)]
    (proc / "mountinfo").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return proc


def _files(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1)).write_text(text + "\n", encoding="ascii")


def test_cgroup_v2_in_a_container_counts_page_cache_as_free(tmp_path: Path) -> None:
    """Docker with a cgroup namespace: the process sits at the mount's root, memory.max set there.
    Usage counts page cache the kernel gives back first (inactive_file), so it is left out."""
    cg = tmp_path / "cg"
    _files(
        cg, memory_max=str(2 * GIB), memory_current=str(GIB + GIB // 2), memory_stat=f"anon 1\ninactive_file {GIB // 2}"
    )
    proc = _proc(tmp_path, "0::/", [f"/ {cg} rw,nosuid - cgroup2 cgroup2 rw"])
    assert memory_limits.cgroup_headroom(proc) == Headroom(
        GIB, f"the memory limit of this process's cgroup ({cg / 'memory.max'})"
    )


def test_cgroup_v2_takes_the_tightest_ancestor(tmp_path: Path) -> None:
    """A SLURM job's limit is set on the job's cgroup; its steps below it say `max`."""
    cg = tmp_path / "cg"
    _files(cg / "job", memory_max=str(4 * GIB), memory_current=str(GIB))
    _files(cg / "job" / "step", memory_max="max", memory_current=str(GIB))
    proc = _proc(tmp_path, "0::/job/step", [f"/ {cg} rw - cgroup2 cgroup2 rw"])
    room = memory_limits.cgroup_headroom(proc)
    assert room is not None and room.bytes == 3 * GIB and "job/memory.max" in room.limit


def test_a_mount_point_with_a_space_is_read_as_the_kernel_escapes_it(tmp_path: Path) -> None:
    cg = tmp_path / "my cgroups"
    _files(cg, memory_max=str(2 * GIB), memory_current=str(GIB))
    escaped = str(cg).replace(" ", "\\040")
    proc = _proc(tmp_path, "0::/", [f"/ {escaped} rw - cgroup2 cgroup2 rw"])
    room = memory_limits.cgroup_headroom(proc)
    assert room is not None and room.bytes == GIB


def test_cgroup_v1_seen_from_inside_a_container(tmp_path: Path) -> None:
    """cgroup v1 without a namespace: /proc/self/cgroup names the host's path, which the
    container's mount (its root field) shows as the mount point itself."""
    memory = tmp_path / "memory"
    _files(
        memory,
        memory_limit_in_bytes=str(GIB),
        memory_usage_in_bytes=str(GIB // 2),
        memory_stat=f"cache 5\ntotal_inactive_file {GIB // 4}",
    )
    proc = _proc(
        tmp_path,
        "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc",
        [
            f"/docker/abc {tmp_path / 'cpu'} rw - cgroup cgroup rw,cpu,cpuacct",
            f"/docker/abc {memory} rw - cgroup cgroup rw,memory",
        ],
    )
    room = memory_limits.cgroup_headroom(proc)
    assert room is not None and room.bytes == GIB - GIB // 4


@pytest.mark.parametrize("limit", [V1_NONE, "max"])
def test_no_limit_is_none(tmp_path: Path, limit: str) -> None:
    memory = tmp_path / "memory"
    _files(memory, memory_limit_in_bytes=limit, memory_usage_in_bytes=str(GIB))
    proc = _proc(tmp_path, "4:memory:/", [f"/ {memory} rw - cgroup cgroup rw,memory"])
    assert memory_limits.cgroup_headroom(proc) is None


def test_unreadable_or_absent_cgroup_files_are_no_limit(tmp_path: Path) -> None:
    """A system without cgroups (macOS, a chroot without /proc) or garbage in the files."""
    assert memory_limits.cgroup_headroom(tmp_path / "absent") is None
    cg = tmp_path / "cg"
    _files(cg, memory_max="lots", memory_current="12abc")
    proc = _proc(tmp_path, "0::/\ngarbage line", [f"/ {cg} rw - cgroup2 cgroup2 rw", "not a mount line"])
    assert memory_limits.cgroup_headroom(proc) is None


def test_a_limit_below_the_machines_is_the_one_checked_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "machine_memory", lambda: 20 * GIB)
    limit = Headroom(GIB, "the memory limit of this process's cgroup (/sys/fs/cgroup/memory.max)")
    monkeypatch.setattr(memory_limits, "tightest", lambda: limit)
    assert devices.available_memory() == GIB
    with pytest.raises(
        GanError, match=r"-n 5: needs about 2.1 GB of memory and 1.1 GB is available under the memory limit"
    ):
        devices.check_host_memory(2 * GIB, "-n 5")
    monkeypatch.setattr(memory_limits, "tightest", lambda: Headroom(40 * GIB, "a loose limit"))
    assert devices.available_memory() == 20 * GIB  # the machine's memory is the tighter


def _in_child(code: str, **popen: object) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120, **popen
    )  # type: ignore[call-overload]
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def test_a_real_ulimit_v_is_read() -> None:
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (64 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
        "from gan_cli import memory_limits\n"
        "room = memory_limits.address_space_headroom()\n"
        "print(room.bytes, room.limit)\n"
    )
    room, _, limit = _in_child(code).strip().partition(" ")
    assert 0 < int(room) < 64 << 30 and limit.startswith("ulimit -v")


V1_MEMORY = Path("/sys/fs/cgroup/memory")


@pytest.mark.skipif(
    not (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and os.access(V1_MEMORY, os.W_OK)
        and (V1_MEMORY / "cgroup.procs").exists()
    ),
    reason="needs root and a writable cgroup v1 memory hierarchy to make a real cgroup",
)
def test_a_real_cgroup_limit_is_checked_before_the_work() -> None:
    """A process put in a real memory cgroup of 1 GiB, on a machine with more: the sizes
    checked before the work are held against the cgroup's room, where the machine's would let an
    allocation through to the OOM killer."""
    group = V1_MEMORY / f"gan-cli-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(GIB), encoding="ascii")
        code = (
            "from gan_cli import devices\n"
            "from gan_cli.errors import GanError\n"
            "print(devices.available_memory(), devices.machine_memory())\n"
            "try:\n"
            "    devices.check_host_memory(2 << 30, 'select.kernels 1,000,000')\n"
            "except GanError as exc:\n"
            "    print(exc)\n"
        )

        def enter() -> None:
            (group / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

        out = _in_child(code, preexec_fn=enter).splitlines()
    finally:
        group.rmdir()
    available, machine = (int(v) for v in out[0].split())
    assert available <= GIB < machine
    assert out[1].startswith("select.kernels 1,000,000: needs about 2.1 GB of memory and")
    assert f"under the memory limit of this process's cgroup ({group / 'memory.limit_in_bytes'})" in out[1]
