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
