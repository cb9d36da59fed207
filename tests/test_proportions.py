"""Tests for evalkit.measures.proportions.

Reference values: tests/reference/indicators/proportions_wilson.csv (PHEindicatormethods test
workbook; see PROVENANCE.md there).  Tolerance: relative 1e-6 on every numeric cell; missing
cells must be missing in both; text cells must match exactly.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from evalkit.measures.proportions import proportion

from phe_reference import REFERENCE, assert_frame_matches, phe_wide

METHODS = ["wilson", "clopper-pearson", "jeffreys"]


# --- reference values ----------------------------------------------------------------


def test_reference_file_every_row_and_column():
    reference = pd.read_csv(REFERENCE / "proportions_wilson.csv")
    for multiplier, expected in reference.groupby("multiplier", sort=False):
        out = proportion(
            expected[["Area", "Numerator", "Denominator"]],
            "Numerator",
            "Denominator",
            confidence=[0.95, 0.998],
            multiplier=multiplier,
        )
        wide = phe_wide(out)
        wide["multiplier"] = multiplier
        assert_frame_matches(wide, expected.reset_index(drop=True))
    assert set(reference["multiplier"]) == {1, 100}


@pytest.mark.parametrize("method", ["wilson", "beta", "jeffreys"])
def test_agrees_with_statsmodels(method):
    x = np.array([1, 5, 20, 65, 99, 9856, 222, 999])
    n = np.array([100, 100, 100, 100, 100, 12345, 3215, 3456])
    ours = {"beta": "clopper-pearson"}.get(method, method)
    for level in (0.95, 0.998):
        out = proportion(None, x, n, method=ours, confidence=level)
        low, high = proportion_confint(x, n, alpha=1 - level, method=method)
        np.testing.assert_allclose(out["lower"], low, rtol=1e-9)
        np.testing.assert_allclose(out["upper"], high, rtol=1e-9)


# --- edge cases and layout -----------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_zero_and_all_cases(method):
    out = proportion(None, [0, 25], [25, 25], method=method, confidence=[0.95, 0.998])
    assert (out.loc[out["n"] == 0, "lower"] == 0).all()
    assert (out.loc[out["n"] == 25, "upper"] == 1).all()
    assert (out.loc[out["n"] == 0, "upper"] > 0).all()
    assert (out.loc[out["n"] == 25, "lower"] < 1).all()


@pytest.mark.parametrize("method", METHODS)
def test_missing_and_zero_denominators_give_missing_values(method):
    out = proportion(None, [np.nan, 3, 0], [10, np.nan, 0], method=method)
    assert out[["value", "lower", "upper"]].isna().all().all()
    assert out["method"].notna().all()


def test_long_layout_and_key_columns():
    data = pd.DataFrame(
        {"county": ["a", "b"], "year": [2024, 2024], "x": [3, 7], "n": [10, 20]},
        index=[10, 11],
    )
    out = proportion(data, "x", "n", confidence=(0.95, 0.998), multiplier=100)
    assert list(out.columns) == [
        "county", "year", "n", "denominator", "value", "lower", "upper",
        "confidence", "statistic", "method",
    ]
    assert out["county"].tolist() == ["a", "a", "b", "b"]
    assert out["confidence"].tolist() == [0.95, 0.998, 0.95, 0.998]
    assert out["statistic"].unique().tolist() == ["percentage"]
    assert out["method"].unique().tolist() == ["Wilson"]
    assert out.index.tolist() == [0, 1, 2, 3]


def test_statistic_labels_and_method_labels():
    assert proportion(None, [1], [2])["statistic"][0] == "proportion of 1"
    assert proportion(None, [1], [2], multiplier=1000)["statistic"][0] == "proportion of 1000"
    labels = {m: proportion(None, [1], [2], method=m)["method"][0] for m in METHODS}
    assert labels == {"wilson": "Wilson", "clopper-pearson": "Clopper-Pearson",
                      "jeffreys": "Jeffreys"}


def test_no_rounding():
    out = proportion(None, [1], [3])
    assert out["value"][0] == 1 / 3


# --- properties ----------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=10_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
levels = st.floats(min_value=0.5, max_value=0.9999)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(counts, min_size=1, max_size=20), level=levels,
       method=st.sampled_from(METHODS))
def test_interval_contains_value(pairs, level, method):
    x, n = map(np.array, zip(*pairs))
    out = proportion(None, x, n, method=method, confidence=level)
    assert (out["lower"] <= out["value"] + 1e-12).all()
    assert (out["value"] <= out["upper"] + 1e-12).all()
    assert ((out["lower"] >= 0) & (out["upper"] <= 1)).all()


@settings(max_examples=60, deadline=None)
@given(pair=counts, a=levels, b=levels, method=st.sampled_from(METHODS))
def test_interval_widens_with_confidence(pair, a, b, method):
    low_level, high_level = sorted((a, b))
    out = proportion(None, [pair[0]], [pair[1]], method=method,
                     confidence=[low_level, high_level])
    assert out["lower"][1] <= out["lower"][0] + 1e-12
    assert out["upper"][1] >= out["upper"][0] - 1e-12


@settings(max_examples=40, deadline=None)
@given(pairs=st.lists(counts, min_size=2, max_size=20), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(METHODS))
def test_invariant_to_row_order(pairs, seed, method):
    data = pd.DataFrame(pairs, columns=["x", "n"]).assign(key=range(len(pairs)))
    shuffled = data.sample(frac=1, random_state=seed % 2**32)
    a = proportion(data, "x", "n", method=method).set_index("key").sort_index()
    b = proportion(shuffled, "x", "n", method=method).set_index("key").sort_index()
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=2000), level=levels,
       method=st.sampled_from(METHODS))
def test_monotonic_in_numerator(n, level, method):
    x = np.arange(n + 1)
    out = proportion(None, x, np.full(x.size, n), method=method, confidence=level)
    for column in ("value", "lower", "upper"):
        assert (np.diff(out[column].to_numpy()) >= -1e-12).all(), column


# --- validation messages (one test per message) ---------------------------------------


def frame(x, n):
    return pd.DataFrame({"x": x, "n": n})


def raises(message):
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_message_negative_numerator():
    with raises("Numerators must be greater than or equal to zero; column 'x' has -1 in row 1."):
        proportion(frame([1, -1], [5, 5]), "x", "n")


def test_message_negative_denominator():
    with raises("Denominators must be greater than or equal to zero; column 'n' has -5 in "
                "row 0."):
        proportion(frame([0, 1], [-5, 5]), "x", "n")


def test_message_numerator_above_denominator():
    with raises("Numerators must be less than or equal to denominators for a proportion; "
                "row 0 has 6 in 'x' and 5 in 'n'."):
        proportion(frame([6], [5]), "x", "n")


def test_message_confidence_as_percentage():
    with raises("Confidence must be a fraction strictly between 0 and 1, such as 0.95 or "
                "0.998; got 95."):
        proportion(frame([1], [5]), "x", "n", confidence=95)


def test_message_confidence_not_a_number():
    with raises("Confidence must be a fraction or a list of fractions, such as 0.95 or "
                "[0.95, 0.998]; got 'high'."):
        proportion(frame([1], [5]), "x", "n", confidence="high")


def test_message_unknown_method():
    with raises("Method must be one of 'wilson', 'clopper-pearson' or 'jeffreys'; got "
                "'wald'."):
        proportion(frame([1], [5]), "x", "n", method="wald")


def test_message_multiplier_not_positive():
    with raises("Multiplier must be a positive number, such as 100; got 0."):
        proportion(frame([1], [5]), "x", "n", multiplier=0)


def test_message_missing_column():
    with raises("Column 'cases' is not in data; the columns are x, n."):
        proportion(frame([1], [5]), "cases", "n")


def test_message_column_not_numeric():
    with raises("Column 'x' must hold numbers; row 1 has 'many'."):
        proportion(frame([1, "many"], [5, 5]), "x", "n")


def test_message_column_clash():
    data = frame([1], [5]).assign(value=3)
    with raises("Data already has a column named 'value'; rename it, because the result "
                "adds a column of that name."):
        proportion(data, "x", "n")


def test_message_arrays_of_different_length():
    with raises("Numerator and denominator must have the same length; got 2 and 1."):
        proportion(None, [1, 2], [5])


def test_message_names_without_data():
    with raises("Numerator and denominator must be arrays when data is None; pass a "
                "DataFrame to refer to columns by name."):
        proportion(None, "x", "n")


def test_message_names_required_with_data():
    with raises("Numerator and denominator must be column names when data is given."):
        proportion(frame([1], [5]), [1], [5])


def test_message_data_not_a_frame():
    with raises("Data must be a pandas DataFrame or None; got dict."):
        proportion({"x": [1], "n": [5]}, "x", "n")
