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
