"""What machine a benchmark ran on, for the line each one prints above its figures."""

from __future__ import annotations


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo ("" where there is none, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
