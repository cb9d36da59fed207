"""Tests for evalkit.measures.suppress: the primary rule at its boundaries, secondary
suppression (no suppressed cell recoverable from a parent total), reasons, and that nothing
else changes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.measures.reach import coverage
from evalkit.measures.suppress import (
    PEOPLE_THRESHOLD,
    REASONS,
    SURVEY_THRESHOLD,
    suppress,
    suppress_counts,
)


def table(n, **extra) -> pd.DataFrame:
    n = list(n)
    k = len(n)
    data = {"area": [f"a{i}" for i in range(k)], "n": n,
            "value": np.linspace(0.1, 0.9, k), "lower": np.linspace(0.05, 0.8, k),
            "upper": np.linspace(0.2, 0.95, k), "statistic": "mean", "method": "wald"}
    data.update(extra)
    return pd.DataFrame(data)


def assert_rest_unchanged(before: pd.DataFrame, after: pd.DataFrame,
                          figures=("value", "lower", "upper")) -> None:
    """Same rows, index and columns (plus the two new ones); figures blank only where
    suppressed, identical elsewhere; every other column identical."""
    assert after.index.equals(before.index)
    if "suppressed" in before.columns:
        assert list(after.columns) == list(before.columns)
    else:
        assert list(after.columns) == [*before.columns, "suppressed", "suppression_reason"]
    hidden = after["suppressed"].to_numpy(dtype=bool)
    for column in before.columns:
        if column in ("suppressed", "suppression_reason"):
            continue
        if column in figures:
            assert after.loc[hidden, column].isna().all(), column
            pd.testing.assert_series_equal(after.loc[~hidden, column],
                                           before.loc[~hidden, column], check_dtype=False)
        else:
            pd.testing.assert_series_equal(after[column], before[column])


# --- primary rule ----------------------------------------------------------------------


def test_defaults():
    assert (SURVEY_THRESHOLD, PEOPLE_THRESHOLD) == (10, 5)
    assert set(REASONS) == {"primary_small_n", "secondary_complement"}


def test_survey_boundary_9_and_10():
    out = suppress(table([9, 10, 11]), "survey")
    assert out["suppressed"].tolist() == [True, False, False]
    assert out["suppression_reason"].tolist()[0] == "primary_small_n"
    assert out["suppression_reason"][1:].isna().all()
    assert np.isnan(out["value"][0]) and out["value"][1] == pytest.approx(0.5)


def test_people_boundary_4_and_5():
    out = suppress(table([4, 5, 0]), "people")
    assert out["suppressed"].tolist() == [True, False, True]  # zero is small as well


def test_explicit_and_configured_thresholds():
    assert suppress(table([19, 20]), threshold=20)["suppressed"].tolist() == [True, False]
    assert suppress(table([7, 8]), "survey", survey_threshold=8)["suppressed"].tolist() == [
        True, False]
    assert suppress(table([2, 3]), "people", people_threshold=3)["suppressed"].tolist() == [
        True, False]
    assert not suppress(table([0, 1]), threshold=0)["suppressed"].any()


def test_kind_per_row_from_a_column():
    data = table([7, 7, 12, 4], kind=["survey", "people", "survey", "people"])
    out = suppress(data, "kind")
    assert out["suppressed"].tolist() == [True, False, False, True]


def test_several_count_columns_and_missing_counts():
    data = table([50, 3, 50, np.nan], denominator=[60, 60, 52, 60])
    out = suppress(data, "people", count=["n", "denominator"])
    # row 1: numerator 3; row 3: count unknown
    assert out["suppressed"].tolist() == [False, True, False, True]


def test_nothing_else_changes():
    data = table([3, 40, 12, 25, 8], group=list("abcde"))
    data.index = [10, 11, 12, 13, 14]
    out = suppress(data, "survey", siblings=[])
    assert_rest_unchanged(data, out)
    assert list(out.columns) == [*data.columns, "suppressed", "suppression_reason"]
    assert out["suppressed"].dtype == bool
    # the input is not modified
    assert data["value"].notna().all()


def test_reasons_present_exactly_where_suppressed():
    out = suppress(table([3, 40, 12, 25, 8, 30]), "survey", siblings=[])
    hidden = out["suppressed"]
    assert out.loc[hidden, "suppression_reason"].isin(list(REASONS)).all()
    assert out.loc[~hidden, "suppression_reason"].isna().all()


# --- secondary suppression -----------------------------------------------------------------


def test_secondary_takes_the_next_smallest_sibling():
    data = pd.DataFrame({
        "county": ["c1"] * 4 + ["c2"] * 3 + ["c3"] * 3,
        "town": list("abcdefghij"),
        "n": [3, 40, 12, 25, 30, 8, 20, 2, 4, 50],
        "value": 0.5, "lower": 0.4, "upper": 0.6,
    })
    out = suppress(data, "survey", siblings="county")
    reasons = dict(zip(out["town"], out["suppression_reason"]))
    # c1: 3 is small, 12 is the next smallest
    assert reasons["a"] == "primary_small_n" and reasons["c"] == "secondary_complement"
    assert pd.isna(reasons["b"]) and pd.isna(reasons["d"])
    # c2: 8 is small, 20 is the next smallest
    assert reasons["f"] == "primary_small_n" and reasons["g"] == "secondary_complement"
    # c3: two small cells already protect each other
    assert reasons["h"] == reasons["i"] == "primary_small_n" and pd.isna(reasons["j"])
    assert_rest_unchanged(data, out)


def test_secondary_ties_take_the_earliest_row():
    data = table([2, 30, 30, 40])
    out = suppress(data, "people", siblings=[])
    assert out["suppressed"].tolist() == [True, True, False, False]


def test_single_child_is_left_to_the_parent_rule():
    data = table([3], county=["c1"])
    out = suppress(data, "people", siblings="county")
    assert out["suppression_reason"].tolist() == ["primary_small_n"]


def test_long_layout_confidence_is_a_sibling_key():
    base = pd.DataFrame({"county": "c1", "town": list("abc"), "n": [3, 20, 30]})
    long = base.loc[base.index.repeat(2)].reset_index(drop=True)
    long["confidence"] = [0.95, 0.998] * 3
    long["value"], long["lower"], long["upper"] = 0.5, 0.4, 0.6
    out = suppress(long, "people", siblings=["county"])
    assert out["suppressed"].tolist() == [True, True, True, True, False, False]


def test_two_margins_are_protected_together():
    # townships x groups within one county, both margins published
    data = pd.DataFrame({
        "town": ["t1", "t1", "t2", "t2", "t3", "t3"],
        "group": ["g1", "g2"] * 3,
        "n": [2, 50, 30, 40, 60, 70],
        "value": 0.5, "lower": 0.4, "upper": 0.6,
    })
    out = suppress(data, "people", siblings=[["town"], ["group"]])
    for keys in ("town", "group"):
        hidden = out.groupby(keys)["suppressed"].sum()
        assert not (hidden == 1).any(), keys


def test_repeating_is_harmless():
    data = table([3, 40, 12, 25])
    once = suppress(data, "survey", siblings=[])
    twice = suppress(once, "survey", siblings=[])
    pd.testing.assert_frame_equal(once, twice)
    # a second rule adds to the first and keeps its reasons
    stricter = suppress(once, threshold=30)
    assert stricter["suppressed"].tolist() == [True, False, True, True]
    assert stricter["suppression_reason"].tolist() == [
        "primary_small_n", np.nan, "secondary_complement", "primary_small_n"]


@st.composite
def nested_tables(draw):
    parents = draw(st.integers(1, 6))
    rows = []
    for p in range(parents):
        for c in range(draw(st.integers(1, 6))):
            rows.append((f"p{p}", f"c{c}", draw(st.integers(0, 30))))
    data = pd.DataFrame(rows, columns=["parent", "child", "n"])
    data["value"] = np.arange(len(data), dtype=float)
    data["lower"], data["upper"] = data["value"] - 1, data["value"] + 1
    order = draw(st.permutations(range(len(data))))
    return data.iloc[list(order)].reset_index(drop=True)


@settings(max_examples=200, deadline=None)
@given(data=nested_tables(), kind=st.sampled_from(["survey", "people"]))
def test_no_suppressed_child_can_be_recovered_from_its_parent(data, kind):
    out = suppress(data, kind, siblings="parent")
    limit = {"survey": SURVEY_THRESHOLD, "people": PEOPLE_THRESHOLD}[kind]
    parents = data.groupby("parent")["n"].sum()
    parent_suppressed = parents < limit  # the parent total under the same rule
    hidden = out.groupby("parent")["suppressed"].sum()
    for parent, k in hidden.items():
        if k > 0:
            assert k >= 2 or parent_suppressed[parent], parent
        if not parent_suppressed[parent]:
            # the parent total minus the shown children never isolates one hidden child
            assert k != 1
    # the primary rule exactly, and secondary cells are never small ones
    small = (data["n"] < limit).to_numpy()
    reason = out["suppression_reason"]
    assert ((reason == "primary_small_n").to_numpy() == small).all()
    assert (data.loc[(reason == "secondary_complement").to_numpy(), "n"] >= limit).all()
    # at most one secondary cell per parent is needed
    assert (out[reason == "secondary_complement"].groupby("parent").size() <= 1).all()
    assert_rest_unchanged(data, out)


@st.composite
def two_way_tables(draw):
    towns, groups = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    counts = draw(st.lists(st.integers(0, 25), min_size=towns * groups,
                           max_size=towns * groups))
    return pd.DataFrame({
        "town": np.repeat([f"t{i}" for i in range(towns)], groups),
        "group": np.tile([f"g{j}" for j in range(groups)], towns),
        "n": counts, "value": 1.0, "lower": 0.0, "upper": 2.0,
    })


@settings(max_examples=150, deadline=None)
@given(data=two_way_tables())
def test_two_way_tables_have_no_lone_suppressed_cell(data):
    out = suppress(data, "people", siblings=[["town"], ["group"]])
    for keys in ("town", "group"):
        groups = out.groupby(keys)["suppressed"].agg(["sum", "size"])
        lone = (groups["sum"] == 1) & (groups["size"] > 1)
        assert not lone.any(), keys


def test_on_a_real_measure_table(small_tables):
    t = small_tables
    town = coverage(t["regions"], t["services"], level="township", confidence=[0.95, 0.998])
    out = suppress(town, "people", siblings=["year", "county_code", "group"])
    assert out["suppressed"].any()
    counts = out.groupby(["year", "county_code", "group", "confidence"])["suppressed"].agg(
        ["sum", "size"])
    assert not ((counts["sum"] == 1) & (counts["size"] > 1)).any()
    assert_rest_unchanged(town, out)


# --- frequency tables -----------------------------------------------------------------------


def test_suppress_counts_in_a_likert_table():
    data = pd.DataFrame({
        "county_code": ["090102"] * 5 + ["090202"] * 5,
        "answer": [1, 2, 3, 4, 5] * 2,
        "count": [2, 14, 31, 120, 233, 0, 0, 6, 80, 90],
        "share": np.linspace(0.01, 0.5, 10),
    })
    out = suppress_counts(data, "county_code", "people", columns=["share"])
    assert out["suppressed"].tolist() == [True, True, False, False, False,
                                          True, True, False, False, False]
    assert out["suppression_reason"].tolist()[:2] == ["primary_small_n", "secondary_complement"]
    assert out.loc[out["suppressed"], ["count", "share"]].isna().all().all()
    assert_rest_unchanged(data, out, figures=("count", "share"))
    survey = suppress_counts(data, [], "survey")
    assert survey["suppressed"].tolist() == [True, False, False, False, False,
                                             True, True, True, False, False]


# --- messages --------------------------------------------------------------------------------


def test_message_no_kind():
    with pytest.raises(ValueError, match=re.escape(
            "Say which threshold applies: kind='survey' (fewer than 10 respondents), "
            "kind='people' (fewer than 5 persons), kind=<column of those codes> or "
            "threshold=<number>.")):
        suppress(table([3]))


def test_message_kind_and_threshold():
    with pytest.raises(ValueError, match=re.escape("Give kind or threshold, not both.")):
        suppress(table([3]), "people", threshold=3)


def test_message_unknown_kind():
    with pytest.raises(ValueError, match=re.escape(
            "Kind must be 'survey', 'people' or the name of a column holding those codes; "
            "got 'persons'.")):
        suppress(table([3]), "persons")


def test_message_bad_kind_in_column():
    with pytest.raises(ValueError, match=re.escape(
            "Column 'kind' must hold 'survey' or 'people'; row 1 has 'admin'.")):
        suppress(table([3, 4], kind=["survey", "admin"]), "kind")


def test_message_negative_threshold():
    with pytest.raises(ValueError, match=re.escape(
            "Threshold must be a number greater than or equal to zero, such as 5; got -1.")):
        suppress(table([3]), threshold=-1)
    with pytest.raises(ValueError, match=re.escape(
            "The survey threshold must be a number greater than or equal to zero")):
        suppress(table([3]), "survey", survey_threshold="ten")


def test_message_missing_column():
    with pytest.raises(ValueError, match=re.escape(
            "Column 'respondents' is not in data; the columns are area, n, value, lower, "
            "upper, statistic, method.")):
        suppress(table([3]), "survey", count="respondents")
    with pytest.raises(ValueError, match=re.escape("Column 'county' is not in data")):
        suppress(table([3]), "survey", siblings="county")


def test_message_counts_not_numbers():
    with pytest.raises(ValueError, match=re.escape(
            "Column 'n' must hold numbers; row 1 has 'few'.")):
        suppress(table([3, "few"]), "survey")


def test_message_not_a_frame():
    with pytest.raises(ValueError, match=re.escape(
            "Data must be a pandas DataFrame; got dict.")):
        suppress({"n": [1]}, "survey")


def test_message_mixed_siblings():
    with pytest.raises(ValueError, match=re.escape(
            "Siblings must be column names, such as ['year', 'county_code'], or a list of "
            "such lists; got a mixture.")):
        suppress(table([3], county=["c"]), "survey", siblings=["county", ["area"]])


def test_message_empty_count():
    with pytest.raises(ValueError, match=re.escape(
            "Count must name at least one column, such as 'n'.")):
        suppress(table([3]), "survey", count=[])
