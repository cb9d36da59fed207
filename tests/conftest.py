"""Shared fixtures: the committed test inputs and generated provinces."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
BASE = DATA / "base"
BROKEN = DATA / "broken"
#: A fixed "today" so that date rules do not drift with the calendar.
TODAY = dt.date(2026, 11, 22)


def overlay(case: str, dest: Path) -> Path:
    """Copy tests/data/base to dest and apply the files of tests/data/broken/<case>."""
    target = dest / case
    shutil.copytree(BASE, target)
    for f in (BROKEN / case).iterdir():
        if f.name.endswith(".delete"):
            (target / f.name.removesuffix(".delete")).unlink()
        else:
            shutil.copy(f, target / f.name)
    return target


@pytest.fixture(scope="session")
def small_tables():
    """The synthetic small province, in memory."""
    from evalkit.synth import generate

    return generate(size="small")


@pytest.fixture(scope="session")
def full_tables():
    """The full synthetic province, in memory (about 10 s)."""
    from evalkit.synth import generate

    return generate()


#: A fixed build time, so that rendered reports can be compared byte for byte.
EPOCH = "1764000000"


def run_evalkit(*args: str, env: dict | None = None, timeout: float = 900):
    """Run the ``evalkit`` command line in a subprocess, as a user would; return the CompletedProcess."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **(env or {})})


@pytest.fixture(scope="session")
def small_province(tmp_path_factory) -> Path:
    """The small synthetic province (4 counties) written as Parquet files."""
    from evalkit.synth import synthesize

    out = tmp_path_factory.mktemp("small") / "small"
    synthesize(out, size="small")
    return out


@pytest.fixture(scope="session")
def small_batch(small_province, tmp_path_factory) -> Path:
    """``evalkit batch`` run once over the small province (one worker, so its kernel is reused for every
    report): the run folder with HTML, PDF, overview, index and manifest."""
    out = tmp_path_factory.mktemp("batch")
    done = run_evalkit("batch", str(small_province), "--out", str(out), "--jobs", "1", "--no-progress",
                       env={"EVALKIT_CACHE": str(out / "cache")})
    assert done.returncode == 0, done.stderr
    return out / "small-2025-en"
