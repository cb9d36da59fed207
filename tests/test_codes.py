"""Codes validation has factorised are found again by the measures, and never when the column changed."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit import _codes
from evalkit.measures.reach import coverage
from evalkit.schema import load_province

BASE = Path(__file__).parent / "data" / "base"
TODAY = dt.date(2026, 11, 22)


def _values(codes: np.ndarray, uniques: pd.Index) -> list:
    return [None if c < 0 else uniques[c] for c in codes]


def test_validated_codes_are_found_again_and_describe_the_column() -> None:
    p = load_province(BASE, today=TODAY)
    column = p.services["township_code"]
    key = id(_codes._arrow(column))
    assert key in _codes._KNOWN  # validation remembered it
    codes, uniques = _codes.factorize(column)
    assert codes is _codes._KNOWN[key][1]  # and it is what the measures get
    assert _values(codes, uniques) == [None if pd.isna(v) else v for v in column]


def test_a_changed_column_is_factorised_again() -> None:
    """A column assigned to (a cell, or the whole column) is not the array validation made: its own codes are
    used, so the measures see the change."""
    p = load_province(BASE, today=TODAY)
    services = p.services.copy()
    before = coverage(p.regions, services, level="township")
    services.loc[services.index[0], "township_code"] = services["township_code"].iloc[-1]  # one row moved
    moved = _codes.factorize(services["township_code"])
    assert _values(*moved) == list(services["township_code"])
    services["township_code"] = services["township_code"].iloc[::-1].to_numpy()  # the whole column
    assert _values(*_codes.factorize(services["township_code"])) == list(services["township_code"])
    after = coverage(p.regions, services, level="township")
    assert not before["n"].equals(after["n"])  # the reversed ledger serves other townships' persons


def test_the_memory_goes_with_the_column() -> None:
    s = pd.Series(pd.Categorical.from_codes([1, 0, -1, 1], categories=["a", "b"]))
    from evalkit.schema import _strings

    out = _strings(s)
    key = id(_codes._arrow(out))
    assert key in _codes._KNOWN and _values(*_codes.factorize(out)) == ["b", "a", None, "b"]
    del out
    gc.collect()
    assert key not in _codes._KNOWN
