"""Shared helpers for the tests against PHEindicatormethods' reference workbooks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: The PHEindicatormethods reference files (tests/reference/indicators/PROVENANCE.md).
REFERENCE = Path(__file__).parent / "reference" / "indicators"
#: Relative tolerance: the files carry about 7 significant digits.
RTOL = 1e-6


def phe_wide(out: pd.DataFrame) -> pd.DataFrame:
    """Turn evalkit's long result into PHEindicatormethods' wide test-file layout."""
    at95 = out[out["confidence"] == 0.95].reset_index(drop=True)
    at998 = out[out["confidence"] == 0.998].reset_index(drop=True)
    wide = at95.rename(columns={"n": "Numerator", "denominator": "Denominator"})
    wide["lower95_0cl"], wide["upper95_0cl"] = at95["lower"], at95["upper"]
    wide["lower99_8cl"], wide["upper99_8cl"] = at998["lower"], at998["upper"]
    return wide


def assert_frame_matches(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Every column of ``expected``: numbers within RTOL, text equal, missing where missing."""
    for column in expected.columns:
        want, got = expected[column], actual[column]
        if pd.api.types.is_numeric_dtype(want):
            np.testing.assert_allclose(
                got.to_numpy(float), want.to_numpy(float), rtol=RTOL, atol=0, equal_nan=True,
                err_msg=column,
            )
        else:
            assert got.isna().tolist() == want.isna().tolist(), column
            assert got[want.notna()].tolist() == want[want.notna()].tolist(), column
