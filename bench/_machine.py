"""What the benchmark scripts print about the machine and the packages they ran with."""

from __future__ import annotations

import platform
from importlib import metadata


def version(dist: str) -> str:
    """The installed version of ``dist``, or ``not installed``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git(root: str, *args: str) -> str:
    """The output of ``git ARGS`` in ``root`` (empty when git is missing or fails)."""
    import subprocess

    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60).stdout.rstrip()
    except (OSError, subprocess.SubprocessError):
        return ""


def code_measured(root: str) -> str:
    """The commit of the repository at ``root``, and the package's uncommitted changes if any."""
    commit = git(root, "rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line[3:] for line in git(root, "status", "--porcelain", "--", "evalkit", "pyproject.toml").splitlines()]
    return f"commit {commit}, " + (f"with uncommitted changes to {', '.join(dirty)}" if dirty else "evalkit/ as committed")


def cpu_ticks() -> tuple[int, int]:
    """(all, stolen): the machine's CPU time so far, in ticks, and the part the host of this virtual machine
    gave to others (``steal`` in /proc/stat); (0, 0) where there is no /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0  # guest time is already in user and nice


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> str:
    """The share of CPU time stolen between two :func:`cpu_ticks` readings, as text."""
    total, stolen = after[0] - before[0], after[1] - before[1]
    return f"{stolen / total:.0%}" if total > 0 else "unknown"

