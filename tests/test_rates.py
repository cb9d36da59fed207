"""Tests for evalkit.measures.rates.

Reference values: tests/reference/indicators/rates_exact_byar.csv (PHEindicatormethods test
workbook; see PROVENANCE.md there).  Tolerance: relative 1e-6 on every numeric cell; missing
cells must be missing in both; text cells (statistic, method) must match exactly.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evalkit.measures.rates import rate

from phe_reference import REFERENCE, assert_frame_matches, phe_wide



# --- reference values ----------------------------------------------------------------


def test_reference_file_every_row_and_column():
    reference = pd.read_csv(REFERENCE / "rates_exact_byar.csv")
    for per, expected in reference.groupby("multiplier", sort=False):
        out = rate(
            expected[["Area", "Numerator", "Denominator"]],
            "Numerator",
            "Denominator",
            per=per,
            confidence=[0.95, 0.998],
        )
        wide = phe_wide(out)
        wide["multiplier"] = per
        assert_frame_matches(wide, expected.reset_index(drop=True))
    assert set(reference["multiplier"]) == {100, 100_000}


def test_exact_below_ten_matches_chi_square_definition():
    x = np.arange(10)
    out = rate(None, x, np.full(10, 1.0), per=1, confidence=0.95)
    lower = np.where(x == 0, 0, stats.chi2.ppf(0.025, 2 * x) / 2)
    upper = stats.chi2.ppf(0.975, 2 * x + 2) / 2
    np.testing.assert_allclose(out["lower"], lower, rtol=1e-12)
    np.testing.assert_allclose(out["upper"], upper, rtol=1e-12)
    assert set(out["method"]) == {"Exact"}


def test_byar_close_to_exact_for_large_counts():
    x = np.array([100.0, 1000.0, 10000.0])
    out = rate(None, x, np.ones(3), per=1, confidence=0.998)
    np.testing.assert_allclose(out["lower"], stats.chi2.ppf(0.001, 2 * x) / 2, rtol=1e-3)
    np.testing.assert_allclose(out["upper"], stats.chi2.ppf(0.999, 2 * x + 2) / 2, rtol=1e-3)
    assert set(out["method"]) == {"Byars"}


# --- edge cases and layout -----------------------------------------------------------


@pytest.mark.parametrize(
    "per, label",
    [(1000, "rate per 1000"), (10_000, "rate per 10000"), (100_000, "rate per 100000"),
     (2.5, "rate per 2.5")],
)
def test_per_and_statistic_label(per, label):
    out = rate(None, [20], [4000], per=per)
    assert out["statistic"][0] == label
    assert out["value"][0] == 20 / 4000 * per


def test_default_per_is_1000_and_threshold_is_ten():
    out = rate(None, [9, 10], [1000, 1000])
    assert out["statistic"].tolist() == ["rate per 1000"] * 2
    assert out["method"].tolist() == ["Exact", "Byars"]


def test_zero_events_and_zero_or_missing_denominators():
    out = rate(None, [0, 4, np.nan], [100, 0, 100], per=100)
    assert out["lower"][0] == 0 and out["upper"][0] > 0
    assert out.loc[1:, ["value", "lower", "upper"]].isna().all().all()
    assert out["method"].isna().tolist() == [False, False, True]


def test_more_events_than_population_is_allowed():
    out = rate(None, [250], [220], per=100_000)
    assert out["value"][0] > 100_000


def test_long_layout_and_key_columns():
    data = pd.DataFrame({"county": ["a", "b"], "events": [3, 70], "pop": [1000, 2000]})
    out = rate(data, "events", "pop", confidence=[0.95, 0.998])
    assert list(out.columns) == [
        "county", "n", "denominator", "value", "lower", "upper",
        "confidence", "statistic", "method",
    ]
    assert out["county"].tolist() == ["a", "a", "b", "b"]
    assert out["confidence"].tolist() == [0.95, 0.998, 0.95, 0.998]


# --- properties ----------------------------------------------------------------------

events = st.integers(min_value=0, max_value=100_000)
populations = st.floats(min_value=1, max_value=1e7)
levels = st.floats(min_value=0.5, max_value=0.9999)


@settings(max_examples=60, deadline=None)
@given(x=st.lists(events, min_size=1, max_size=20), n=populations, level=levels)
def test_interval_contains_value(x, n, level):
    out = rate(None, x, np.full(len(x), n), per=100_000, confidence=level)
    assert (out["lower"] <= out["value"] * (1 + 1e-12)).all()
    assert (out["value"] <= out["upper"] * (1 + 1e-12)).all()
    assert (out["lower"] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(x=events, a=levels, b=levels)
def test_interval_widens_with_confidence(x, a, b):
    low_level, high_level = sorted((a, b))
    out = rate(None, [x], [1000], confidence=[low_level, high_level])
    assert out["lower"][1] <= out["lower"][0] * (1 + 1e-12)
    assert out["upper"][1] >= out["upper"][0] * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(x=st.lists(events, min_size=2, max_size=20), seed=st.integers(0, 2**32 - 1))
def test_invariant_to_row_order(x, seed):
    data = pd.DataFrame({"x": x, "n": 5000.0, "key": range(len(x))})
    shuffled = data.sample(frac=1, random_state=seed)
    a = rate(data, "x", "n").set_index("key").sort_index()
    b = rate(shuffled, "x", "n").set_index("key").sort_index()
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(start=st.integers(min_value=0, max_value=5000), level=levels)
def test_monotonic_in_numerator_including_the_exact_byar_switch(start, level):
    x = np.concatenate([np.arange(0, 30), np.arange(start, start + 200)])
    x = np.unique(x)
    out = rate(None, x, np.full(x.size, 1000.0), confidence=level)
    for column in ("value", "lower", "upper"):
        assert (np.diff(out[column].to_numpy()) >= 0).all(), column


# --- validation messages (one test per message) ---------------------------------------


def raises(message):
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_message_negative_numerator():
    with raises("Numerators must be greater than or equal to zero; column 'events' has -2 "
                "in row 0."):
        rate(pd.DataFrame({"events": [-2], "pop": [10]}), "events", "pop")


def test_message_negative_denominator():
    with raises("Denominators must be greater than or equal to zero; column 'pop' has -10 "
                "in row 0."):
        rate(pd.DataFrame({"events": [2], "pop": [-10]}), "events", "pop")


def test_message_per_not_positive():
    with raises("The rate multiplier per must be a positive number, such as 100; got -1000."):
        rate(None, [2], [10], per=-1000)


def test_message_confidence_out_of_range():
    with raises("Confidence must be a fraction strictly between 0 and 1, such as 0.95 or "
                "0.998; got 99.8."):
        rate(None, [2], [10], confidence=[0.95, 99.8])
