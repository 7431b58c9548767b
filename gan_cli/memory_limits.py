"""The limits a container, a batch job or a shell puts on this process's memory, below the
machine's: a cgroup's memory limit (Docker, Kubernetes, SLURM, systemd; cgroup v1 and v2) and
`ulimit -v` (RLIMIT_AS).

Why by hand: the machine's MemAvailable knows nothing of them, and past a cgroup's limit the
kernel's OOM killer ends the process with SIGKILL (no message, no checkpoint), so every size
checked before the work must be held against the tightest of them. psutil reads only the
machine's figures; no kept library reads the cgroup's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

UNLIMITED = 1 << 60
"""Bytes at or above which a limit means none (cgroup v1 writes 9223372036854771712 for none)."""
PROC = Path("/proc/self")


@dataclass(frozen=True)
class Headroom:
    """Bytes this process may still allocate under one limit, and which limit that is (for messages)."""

    bytes: int
    limit: str


def _read_int(path: Path) -> int | None:
    """The whole number a cgroup file holds; None for "max", a missing file or anything unreadable."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _stat_value(path: Path, *keys: str) -> int:
    """The first of `keys` in a cgroup's memory.stat (page cache the kernel gives back first); 0 if absent."""
    try:
        rows = dict(
            line.split()[:2] for line in path.read_text(encoding="ascii").splitlines() if len(line.split()) >= 2
        )
    except (OSError, UnicodeDecodeError, ValueError):
        return 0
    for key in keys:
        if rows.get(key, "").isdigit():
            return int(rows[key])
    return 0


def _unescape(field: str) -> str:
    """A mountinfo path field: the kernel writes space, tab, newline and backslash as octal (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts(mountinfo: Path) -> list[tuple[str, Path, str, str]]:
    """(root within the hierarchy, mount point, fstype, super options) of each cgroup mount."""
    out: list[tuple[str, Path, str, str]] = []
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if sep and len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            out.append((_unescape(fields[3]), Path(_unescape(fields[4])), tail[0], tail[2]))
    return out


def _memory_cgroups(proc: Path) -> list[tuple[Path, Path, bool]]:
    """(the folder of this process's memory cgroup, its hierarchy's mount point, whether it is v2)
    for each hierarchy that has one.

    /proc/self/cgroup names the cgroup as seen from the hierarchy's root; a container's mount shows
    only its own subtree (mountinfo's root field), so the name is taken relative to that; where it
    lies outside, the mount point itself is this process's cgroup (a cgroup namespace)."""
    try:
        lines = (proc / "cgroup").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    mounts = _mounts(proc / "mountinfo")
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, name = parts
        v2 = controllers == ""
        for root, point, fstype, options in mounts:
            if (fstype == "cgroup2") != v2 or (not v2 and "memory" not in options.split(",")):
                continue
            relative = os.path.relpath(name, root) if name.startswith("/") else ".."
            folder = point if relative.startswith("..") else point / relative
            found.append((folder if folder.is_dir() else point, point, v2))
            break
    return found


def cgroup_headroom(proc: Path = PROC) -> Headroom | None:
    """The tightest headroom under this process's memory cgroup and its ancestors up to the mount:
    limit - (usage - inactive page cache) at each level that sets a limit; None where none does."""
    best: Headroom | None = None
    for folder, point, v2 in _memory_cgroups(proc):
        limit_file, usage_file = (
            ("memory.max", "memory.current") if v2 else ("memory.limit_in_bytes", "memory.usage_in_bytes")
        )
        levels = [folder, *folder.parents]
        for level in levels[: levels.index(point) + 1] if point in levels else [folder]:
            limit, usage = _read_int(level / limit_file), _read_int(level / usage_file)
            if limit is not None and limit < UNLIMITED and usage is not None:
                cache = _stat_value(
                    level / "memory.stat", "inactive_file" if v2 else "total_inactive_file", "inactive_file"
                )
                room = max(limit - max(usage - cache, 0), 0)
                if best is None or room < best.bytes:
                    best = Headroom(room, f"the memory limit of this process's cgroup ({level / limit_file})")
    return best


def address_space_headroom(proc: Path = PROC) -> Headroom | None:
    """`ulimit -v` (RLIMIT_AS) less the address space this process already maps (VmSize); None when
    unlimited (or not POSIX: Windows has no `resource`)."""
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    mapped = 0
    try:
        for line in (proc / "status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmSize:") and line.split()[1].isdigit():
                mapped = int(line.split()[1]) * 1024
    except OSError:
        pass
    return Headroom(max(soft - mapped, 0), "ulimit -v (RLIMIT_AS) of this process")


def tightest(proc: Path = PROC) -> Headroom | None:
    """The smallest headroom of the limits above; None where no limit applies."""
    rooms = [h for h in (cgroup_headroom(proc), address_space_headroom(proc)) if h is not None]
    return min(rooms, key=lambda h: h.bytes) if rooms else None
